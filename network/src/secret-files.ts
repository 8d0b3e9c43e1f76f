/**
 * Secrets the launcher handles itself (docs/operations.md, "Secrets at rest"): its copies of
 * private keys are owner-only whatever the umask, and its errors never quote a secret.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Our copy of a private key: 0600 from its creation, in a 0700 directory (as fabric-ca-client
 * keeps its keystore); an existing file is replaced, not rewritten in its old mode.
 */
export function copyKey(from: string, to: string): void {
  mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
  chmodSync(path.dirname(to), 0o700);
  rmSync(to, { force: true });
  writeFileSync(to, readFileSync(from), { mode: 0o600, flag: 'wx' });
}

/** `text` with the secrets of fabric-ca-client arguments (`--id.secret <s>`, `https://<id>:<s>@…`) blanked. */
export function withoutSecrets(text: string, args: string[]): string {
  const secrets = args.flatMap((a, i) => (args[i - 1] === '--id.secret' ? [a] : (/^https:\/\/[^:/@]+:([^@]+)@/.exec(a)?.slice(1) ?? [])));
  return secrets.reduce((t, secret) => t.split(secret).join('***'), text);
}
