/**
 * Identifiers and their rules. The chaincode checks every id a transaction takes with these,
 * and the SDK and the command line check what they are about to send with the same ones. A
 * failed check throws INVALID_ARGUMENT[field] (errors.ts) with the rule, so the message says
 * which id is wrong and what it must look like.
 */
import { invalid } from './errors';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** The rule for record, consent, grant and break-glass ids (client-chosen, unique on the ledger). */
export const ID_RULE = 'must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit';
const ENTRY_ID = /^[A-Za-z0-9._-]{1,160}$/;
const PSEUDONYM = /^[0-9a-f]{64}$/;
const PSEUDONYM_RULE = 'must be 64 lowercase hex characters (a keyed hash, never a name)';
const CATEGORY = /^[a-z0-9][a-z0-9-]{0,63}(\/[a-z0-9][a-z0-9-]{0,63}){0,7}$/;
const CATEGORY_RULE = "must be a department path like 'cardiology/ecg': 1 to 8 segments of 1-64 characters a-z 0-9 - (starting with a letter or digit), joined by '/'";
const ENROLLMENT_ID = /^[A-Za-z0-9][A-Za-z0-9@._-]{0,127}$/;
const MSP_ID = /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/;

/** True for a well-formed record, consent, grant or break-glass id. */
export const isId = (value: unknown): value is string => typeof value === 'string' && ID.test(value);

function checkId(value: string, field: string): string {
  if (!ID.test(value)) throw invalid(field, ID_RULE);
  return value;
}

export const checkRecordId = (value: string, field = 'recordId'): string => checkId(value, field);
export const checkConsentId = (value: string, field = 'consentId'): string => checkId(value, field);
/** A grant's id (the crypto layer's GrantPublic.grantId). */
export const checkGrantId = (value: string, field = 'grantId'): string => checkId(value, field);
/** A consortium settings proposal's id (types/consortium.ts). */
export const checkProposalId = (value: string, field = 'proposalId'): string => checkId(value, field);
/** A DKG's id (the key centres' board, types/dkg.ts). */
export const checkDkgId = (value: string, field = 'dkgId'): string => checkId(value, field);
/** A break-glass's id. */
export const checkEmergencyId = (value: string, field = 'emergencyId'): string => checkId(value, field);

/** An access-log entry's id, `<txId>.<n>`. */
export function checkEntryId(value: string, field = 'entryId'): string {
  if (!ENTRY_ID.test(value)) throw invalid(field, 'must be a log entry id');
  return value;
}

/** True for a well-formed patient pseudonym. */
export const isPseudonym = (value: unknown): value is string => typeof value === 'string' && PSEUDONYM.test(value);

/** A patient's pseudonym (pseudonyms.ts): no name or other PHI ever stands in its place. */
export function checkPseudonym(value: string, field = 'patientPseudonym'): string {
  if (!PSEUDONYM.test(value)) throw invalid(field, PSEUDONYM_RULE);
  return value;
}

/** A department path such as `cardiology/ecg`. */
export function checkCategory(value: unknown, field = 'category'): string {
  if (typeof value !== 'string' || !CATEGORY.test(value)) throw invalid(field, CATEGORY_RULE);
  return value;
}

/** An enrollment id at a Fabric CA (`hf.EnrollmentID`). */
export function checkEnrollmentId(value: string, field = 'enrollmentId'): string {
  if (!ENROLLMENT_ID.test(value)) throw invalid(field, 'must be an enrollment id: 1-128 characters of A-Z a-z 0-9 @ . _ -');
  return value;
}

/** An organisation's MSP id. */
export function checkMspId(value: unknown, field = 'mspId'): string {
  if (typeof value !== 'string' || !MSP_ID.test(value)) throw invalid(field, 'must be an MSP id');
  return value;
}
