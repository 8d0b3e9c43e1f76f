/**
 * The launcher's own copies of private keys (TLS keys, the SDK wallet) are 0600 in 0700
 * directories whatever the umask, also over an older, looser copy; a failed fabric-ca-client
 * call's error blanks the enrolment secrets its command line carries.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copyKey, withoutSecrets } from '../../../network/src/secret-files';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('copies of private keys', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'emr-keys-'));
  const source = path.join(dir, 'keystore', 'abc_sk');
  let umask: number;
  beforeAll(() => {
    mkdirSync(path.dirname(source));
    writeFileSync(source, '-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n', { mode: 0o644 });
    umask = process.umask(0); // what a mode left to the umask would get: 0777 directories, 0666 files
  });
  afterAll(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('are 0600 in a 0700 directory (new directories on the way too), whatever the source and the umask', () => {
    const to = path.join(dir, 'wallet', 'HospitalA', 'doctor1', 'key.pem');
    copyKey(source, to);
    expect(readFileSync(to, 'utf8')).toBe(readFileSync(source, 'utf8'));
    expect([mode(to), mode(path.dirname(to)), mode(path.join(dir, 'wallet'))]).toEqual([0o600, 0o700, 0o700]);
  });

  it('replace an older copy left 0644 in a 0755 directory', () => {
    const to = path.join(dir, 'tls', 'key.pem');
    mkdirSync(path.dirname(to), { mode: 0o755 });
    writeFileSync(to, 'old', { mode: 0o644 });
    copyKey(source, to);
    expect([readFileSync(to, 'utf8'), mode(to), mode(path.dirname(to))]).toEqual([readFileSync(source, 'utf8'), 0o600, 0o700]);
  });
});

describe("fabric-ca-client's command line in errors", () => {
  it('blanks the secret of --id.secret and of an enrolment URL, and nothing else', () => {
    const args = ['register', '-u', 'https://127.0.0.1:7154', '--id.name', 'doctor1', '--id.secret', 'Zm9vYmFyYmF6cXV4', '--id.type', 'client'];
    const enroll = ['enroll', '-u', 'https://ca-admin:c2VjcmV0LXBhc3N3b3Jk@127.0.0.1:7154'];
    const text = (a: string[]) => `fabric-ca-client ${a.join(' ')} exited with 1:\nError: POST failure`;
    expect(withoutSecrets(text(args), args)).toBe(text(args).replace('Zm9vYmFyYmF6cXV4', '***'));
    expect(withoutSecrets(`${text(enroll)} (https://ca-admin:c2VjcmV0LXBhc3N3b3Jk@127.0.0.1:7154)`, enroll)).toBe(
      'fabric-ca-client enroll -u https://ca-admin:***@127.0.0.1:7154 exited with 1:\nError: POST failure (https://ca-admin:***@127.0.0.1:7154)',
    );
    expect(withoutSecrets('no secret here', ['enroll', '-u', 'https://127.0.0.1:7154'])).toBe('no secret here');
  });
});
