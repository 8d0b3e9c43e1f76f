/**
 * A party: an identity on the network, named by its org's MSP id and its enrollment id.
 * As text a party has one form, `enrollmentId@mspId`: the identity its identity-based keys
 * are extracted for, how a grant names its delegatee and proxies, and what the services and
 * the command line print and read. Compare parties with `sameParty`, never as strings.
 */
import { invalid } from './errors';

export interface Party {
  mspId: string;
  enrollmentId: string;
}

/** `enrollmentId@mspId`. */
export const encodeParty = (p: Party): string => `${p.enrollmentId}@${p.mspId}`;

/**
 * The party `text` names. The last `@` separates the two (an MSP id has none, an enrollment
 * id may); throws INVALID_ARGUMENT[field] when either side is empty. The parts' own rules
 * are ids.ts's (checkEnrollmentId, checkMspId).
 */
export function decodeParty(text: string, field = 'party'): Party {
  const at = text.lastIndexOf('@');
  if (at < 1 || at === text.length - 1) throw invalid(field, 'must be <enrollmentId>@<mspId>, e.g. researcher1@ResearchInstituteMSP');
  return { enrollmentId: text.slice(0, at), mspId: text.slice(at + 1) };
}

/** The same identity: same org and same enrollment id (other fields, a role say, do not count). */
export const sameParty = (a: Party, b: Party): boolean => a.mspId === b.mspId && a.enrollmentId === b.enrollmentId;

/** How many different parties `parties` holds. */
export const distinctParties = (parties: readonly Party[]): number => parties.filter((p, i) => parties.findIndex((q) => sameParty(p, q)) === i).length;
