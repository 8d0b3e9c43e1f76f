import type { Party } from '@emr/protocol';
import { ConsentContract } from '../../chaincode/src/consent-contract';
import { DirectoryContract } from '../../chaincode/src/directory-contract';
import { EmergencyContract } from '../../chaincode/src/emergency-contract';
import { EmrContract } from '../../chaincode/src/emr-contract';
import { ProxyContract } from '../../chaincode/src/proxy-contract';
import { chaincodeContext, identity } from './chaincode-context';
import { patient1Pseudonym, recordInput } from './fixtures';
import { grantRegistration, type GrantOptions } from './grants';
import { MemoryState } from './memory-state';

export const A = 'HospitalAMSP';
export const B = 'HospitalBMSP';
export const RI = 'ResearchInstituteMSP';
export const ORGS = [A, B, RI];
export const admin = identity('admin', 'admin');
export const patient1 = identity('patient1', 'patient');
export const doctor1 = identity('doctor1', 'doctor');
export const doctor2 = identity('doctor2', 'doctor');
export const researcher1 = identity('researcher1', 'researcher');
export const proxyId = identity('proxy', 'proxy');
export const kgc = identity('kgc', 'kgc');
export const p1 = patient1Pseudonym();

export const contracts = { emr: new EmrContract(), consent: new ConsentContract(), directory: new DirectoryContract(), emergency: new EmergencyContract(), proxy: new ProxyContract() };

/**
 * An in-memory ledger as the unit tests start from: patient1 of HospitalA registered,
 * one cardiology record of his, and each org's proxy registered with stake from every org.
 */
export async function unitLedger() {
  const state = new MemoryState();
  let n = 0;
  const as = (msp: string, attrs: Record<string, string>, at = '2026-01-01T06:00:00.000Z', transient?: Record<string, string>) =>
    chaincodeContext(state, msp, attrs, { txId: `tx-${++n}`, at, ...(transient ? { transient } : {}) });
  const { emr, consent, proxy, directory } = contracts;
  await consent.RegisterPatient(as(A, patient1), p1);
  for (const msp of ORGS) for (const staff of [admin, doctor1, doctor2, researcher1]) await directory.RegisterIdentity(as(msp, staff));
  const record = recordInput();
  await emr.CreateRecord(as(A, doctor1), JSON.stringify(record));
  for (const msp of ORGS) await proxy.RegisterProxy(as(msp, proxyId), `https://127.0.0.1:${7300 + ORGS.indexOf(msp)}`);
  for (const voter of ORGS) for (const msp of ORGS) await proxy.VoteStake(as(voter, admin), msp, 'proxy', '30');
  const elect = async (grantId: string, consentId: string, count: number): Promise<Party[]> =>
    JSON.parse(await proxy.ElectProxies(as(A, admin), grantId, consentId, String(count))).proxies;
  const grant = (o: Omit<GrantOptions, 'elect'>) => grantRegistration({ ...o, elect });
  return { state, as, record, elect, grant };
}
