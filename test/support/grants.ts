import { createHash, randomUUID } from 'node:crypto';
import { encodeGrant, openGrantKey, reKeyGen, slotIdentity, toBase64url, type G2Point, type GrantPublic, type ProxyShare } from '@emr/crypto';
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
  /** The slot's category (default the fixtures' consent's, cardiology). */
  condition?: string;
  expiresAt?: string;
}

/** Every grant made here with its key, so that a re-delegation is made as the SDK makes it. */
const made = new Map<string, { grant: GrantPublic; key: G2Point }>();

/**
 * A real grant (crypto reKeyGen) for the elected proxies, and the registration that says
 * what it says: what a patient (or a delegatee re-delegating) submits to RegisterGrant.
 */
export async function grantRegistration(o: GrantOptions): Promise<{ input: RegistrationInput; grant: GrantPublic; shares: ProxyShare[]; key: G2Point }> {
  const grantId = `grant-${randomUUID()}`;
  const proxies = await o.elect(grantId, o.consentId, o.n ?? 3);
  const delegatee = o.delegatee ?? { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' };
  const condition = o.condition ?? 'cardiology';
  const slot = { owner: identityOf(o.patient ?? { mspId: 'HospitalAMSP', enrollmentId: 'patient1' }), type: o.type ?? 'sharable', condition };
  const { params, keyOf } = centresForTests();
  const parent = o.parentGrantId ? made.get(o.parentGrantId) : undefined;
  const { grant, shares } = reKeyGen(params, {
    grantId,
    slot,
    // The slot key at hop 1, the parent's grant key after: a leaked key traces (crypto trace.ts).
    delegatorKey: parent?.key ?? keyOf(slotIdentity(slot)),
    delegatee: identityOf(delegatee),
    hop: o.hop ?? 1,
    proxies: proxies.map(identityOf),
    threshold: o.threshold ?? 2,
    ...(parent ? { parent: parent.grant } : {}),
  });
  const key = openGrantKey(params, grant, keyOf(identityOf(delegatee)));
  made.set(grantId, { grant, key });
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
  return { input, grant, shares, key };
}
