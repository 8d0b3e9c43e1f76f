/**
 * The services learn who calls from a request signed with the caller's Fabric enrollment
 * key, checked against the consortium CAs. These tests try to get past that with real
 * CA-issued certificates: tampered bodies, other keys, stale timestamps, foreign CAs.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ServiceError, connectGateway, loadProfile } from '../../client/src';
import { AuthenticationError, verifySigned, type TrustedCas } from '../../client/src/services/auth';
import { callService } from '../../client/src/wire/call';
import { signedHeaders } from '../../client/src/wire/signed-requests';
import { stateDir } from '../../network/src/paths';
import { memberOrg } from '../../network/src/topology';

const profile = loadProfile(stateDir);
const trust: TrustedCas = new Map(Object.values(profile.orgs).map((o) => [o.mspId, new X509Certificate(readFileSync(o.caCertPath))]));
const doctor = connectGateway({ org: 'HospitalA', user: 'doctor1', profile: stateDir });
const other = connectGateway({ org: 'HospitalA', user: 'doctor2', profile: stateDir });
afterAll(() => [doctor, other].forEach((c) => c.close()));
const body = JSON.stringify({ identity: 'doctor1@HospitalAMSP' });

describe('signed requests', () => {
  it('a request signed with the enrollment key names the caller from the certificate', () => {
    const headers = signedHeaders(doctor, 'POST', '/v1/keys', body);
    expect(verifySigned(headers, 'POST', '/v1/keys', body, trust)).toMatchObject({ caller: { mspId: 'HospitalAMSP', enrollmentId: 'doctor1', role: 'doctor' }, certificate: new X509Certificate(doctor.certificate).toString() });
  });

  it('refuses a changed body, path or method, another key, a stale timestamp and a CA outside the consortium', () => {
    const headers = signedHeaders(doctor, 'POST', '/v1/keys', body);
    expect(() => verifySigned(headers, 'POST', '/v1/keys', body.replace('doctor1', 'doctor2'), trust)).toThrow(AuthenticationError);
    expect(() => verifySigned(headers, 'POST', '/v1/dkg/share', body, trust)).toThrow(/does not verify/);
    expect(() => verifySigned(headers, 'GET', '/v1/keys', body, trust)).toThrow(/does not verify/);
    const borrowed = { ...signedHeaders(other, 'POST', '/v1/keys', body), 'x-emr-certificate': headers['x-emr-certificate'] };
    expect(() => verifySigned(borrowed, 'POST', '/v1/keys', body, trust)).toThrow(/does not verify/);
    expect(() => verifySigned(headers, 'POST', '/v1/keys', body, trust, Date.now() + 10 * 60_000)).toThrow(/outside the 60-second window/);
    const withoutA: TrustedCas = new Map([...trust].filter(([msp]) => msp !== 'HospitalAMSP'));
    expect(() => verifySigned(headers, 'POST', '/v1/keys', body, withoutA)).toThrow(/not issued by a consortium CA/);
    expect(() => verifySigned({}, 'POST', '/v1/keys', body, trust)).toThrow(/missing x-emr-certificate/);
  });

  it('the live key centre refuses unsigned requests and keys of other identities', async () => {
    const kgc = `http://127.0.0.1:${memberOrg('HospitalB').kgcPort}`;
    const unsigned = await callService('kgc', kgc, 'POST', '/v1/keys', { identity: 'doctor1@HospitalAMSP' }).catch((e: unknown) => e);
    expect([(unsigned as ServiceError).status, (unsigned as ServiceError).code]).toEqual([401, 'UNAUTHENTICATED']);
    const foreign = await callService('kgc', kgc, 'POST', '/v1/keys', { identity: 'doctor2@HospitalAMSP' }, doctor, 5_000, { sealed: true }).catch((e: unknown) => e);
    expect([(foreign as ServiceError).status, (foreign as ServiceError).code]).toEqual([403, 'UNAUTHORIZED']);
    const share = await callService('kgc', kgc, 'GET', '/v1/dkg/share', undefined, doctor, 5_000, { sealed: true }).catch((e: unknown) => e);
    expect((share as ServiceError).status).toBe(403); // DKG shares go to key centres only
    const own = await callService<{ index: number; key: string }>('kgc', kgc, 'POST', '/v1/keys', { identity: 'doctor1@HospitalAMSP' }, doctor, 5_000, { sealed: true });
    expect(own.index).toBe(2);
  });
});
