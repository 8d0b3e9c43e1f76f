import { createHash, randomUUID } from 'node:crypto';
import { encodeGrant, hashToG2, reKeyGen, toBase64url, type GrantPublic, type ProxyShare } from '@emr/crypto';
import type { Party, RegistrationInput } from '@emr/protocol';
import { testCentres } from './consortium';

/** The crypto identity string of a party (chaincode registrations.ts: cryptoIdentity). */
export const identityOf = (p: Party): string => `${p.enrollmentId}@${p.mspId}`;

let centres: ReturnType<typeof testCentres> | undefined;
/** Test key centres, made once (the PRE tests cover real key generation). */
export const centresForTests = () => (centres ??= testCentres());

export interface GrantOptions {
  consentId: string;
  /** Who elects the proxies: the chaincode's ElectProxies, on the ledger under test. */
  elect: (grantId: string, consentId: string, n: number) => Promise<Party[]>;
  delegatee?: Party;
  patient?: Party;
  hop?: number;
  parentGrantId?: string;
  n?: number;
  threshold?: number;
  type?: 'sharable' | 'non-sharable';
  expiresAt?: string;
}

/** Every grant made here, so that a re-delegation can carry its parent's anchor forward. */
const made = new Map<string, GrantPublic>();

/**
 * A real grant (crypto reKeyGen) for the elected proxies, and the registration that says
 * what it says: what a patient (or a delegatee re-delegating) submits to RegisterGrant.
 */
export async function grantRegistration(o: GrantOptions): Promise<{ input: RegistrationInput; grant: GrantPublic; shares: ProxyShare[] }> {
  const grantId = `grant-${randomUUID()}`;
  const proxies = await o.elect(grantId, o.consentId, o.n ?? 3);
  const delegatee = o.delegatee ?? { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' };
  const condition = `consent:${o.consentId}`;
  const slot = { owner: identityOf(o.patient ?? { mspId: 'HospitalAMSP', enrollmentId: 'patient1' }), type: o.type ?? 'sharable', condition };
  const { grant, shares } = reKeyGen(centresForTests().params, {
    grantId,
    slot,
    delegatorKey: hashToG2(`test-delegator-key:${grantId}`),
    delegatee: identityOf(delegatee),
    hop: o.hop ?? 1,
    proxies: proxies.map(identityOf),
    threshold: o.threshold ?? 2,
    ...(o.parentGrantId && made.has(o.parentGrantId) ? { parent: made.get(o.parentGrantId)! } : {}),
  });
  made.set(grantId, grant);
  const input: RegistrationInput = {
    grantId,
    consentId: o.consentId,
    delegatee,
    type: slot.type,
    conditionHash: createHash('sha256').update(condition).digest('hex'),
    hop: grant.hop,
    ...(o.parentGrantId ? { parentGrantId: o.parentGrantId } : {}),
    proxies,
    threshold: grant.threshold,
    commitments: grant.commitments.map((c) => toBase64url(c.toBytes())),
    grant: toBase64url(encodeGrant(grant)),
    expiresAt: o.expiresAt ?? '2026-01-01T20:00:00.000Z',
  };
  return { input, grant, shares };
}
