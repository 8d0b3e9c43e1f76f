/**
 * Unlinked records (docs/privacy.md, "Linkability"). A record filed unlinked names, instead of
 * its patient's pseudonym p, a record pseudonym of its own:
 *
 *   t_i  = HMAC-SHA256(k_p, "emr-link:v1" ‖ 0x00 ‖ i)             the i-th link key
 *   rp_i = "rp-" ‖ hex SHA-256("emr-link:v1" ‖ 0x00 ‖ p ‖ 0x00 ‖ t_i)
 *
 * with k_p the patient's blinding key (blinding.ts) and i counting his unlinked filings from 0.
 * Without k_p, rp_i says nothing of p, so a member cannot tie the patient's records together.
 * A rule that needs the tie gets (p, t_i) as transient data: the chain recomputes rp_i and
 * compares. The holders of k_p (the patient, his home hospital) find his records by walking
 * i up from 0 until LINK_GAP pseudonyms in a row name no record, as wallets walk addresses.
 */
import { createHash, createHmac } from 'node:crypto';
import { invalid } from './errors';
import { checkPseudonym } from './ids';

const RECORD_PSEUDONYM = /^rp-[0-9a-f]{64}$/;
const LINK_KEY = /^[0-9a-f]{64}$/;
/** How many unused record pseudonyms in a row end the walk over a patient's records. */
export const LINK_GAP = 20;
/** Indexes run below this: 65,536 unlinked filings per patient, and a search for one ends in milliseconds. */
export const MAX_LINK_INDEX = 2 ** 16;

export const isRecordPseudonym = (value: unknown): boolean => typeof value === 'string' && RECORD_PSEUDONYM.test(value);

/** The i-th link key of a patient, hex. */
export function linkKey(blindingKey: Uint8Array, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0 || index >= MAX_LINK_INDEX) throw new RangeError(`link index ${index} is outside 0..${MAX_LINK_INDEX - 1}`);
  return createHmac('sha256', blindingKey).update(`emr-link:v1\u0000${index}`, 'utf8').digest('hex');
}

/** The record pseudonym a link key gives for a patient. */
export const recordPseudonym = (patientPseudonym: string, key: string): string =>
  `rp-${createHash('sha256').update(`emr-link:v1\u0000${patientPseudonym}\u0000${key}`, 'utf8').digest('hex')}`;

/** What proves a record pseudonym is a patient's: his pseudonym and the link key. */
export interface RecordLink {
  patientPseudonym: string;
  linkKey: string;
}

/** Parses a link as it travels (JSON, transient); errors name the field. */
export function parseRecordLink(value: unknown, field = 'link'): RecordLink {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, 'must be an object {patientPseudonym, linkKey}');
  const { patientPseudonym, linkKey: key, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw invalid(`${field}.${extra}`, 'is not a field of a link');
  if (typeof patientPseudonym !== 'string') throw invalid(`${field}.patientPseudonym`, 'is required');
  checkPseudonym(patientPseudonym, `${field}.patientPseudonym`);
  if (typeof key !== 'string' || !LINK_KEY.test(key)) throw invalid(`${field}.linkKey`, 'must be 64 lowercase hex characters');
  return { patientPseudonym, linkKey: key };
}

/** The index of a record pseudonym among a patient's, for a holder of his key; undefined past `limit`. */
export function linkIndexOf(blindingKey: Uint8Array, patientPseudonym: string, pseudonym: string, limit = MAX_LINK_INDEX): number | undefined {
  for (let i = 0; i < Math.min(limit, MAX_LINK_INDEX); i++) if (recordPseudonym(patientPseudonym, linkKey(blindingKey, i)) === pseudonym) return i;
  return undefined;
}
