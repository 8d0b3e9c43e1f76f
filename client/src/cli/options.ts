/**
 * Pure parsing and validation of the `emr` command line's option values. Each parser throws a
 * UsageError that names the option, so a bad value is reported before any connection is made.
 * The rules are the chaincode's own (record ids, pseudonyms, categories, limits).
 */
import path from 'node:path';
import type { CipherSuite } from '@emr/crypto';
import {
  AREA_NAME,
  MAX_ACCESSES,
  MAX_HOP_LIMIT,
  MAX_SCOPE_RECORDS,
  PURPOSES,
  RECORD_TYPES,
  checkCategory,
  checkPseudonym,
  checkTime,
  checkRecordId,
  decodeParty,
  type ConsentInput,
  type Grantee,
  type Party,
  type Purpose,
  type RecordType,
} from '@emr/protocol';
import { loadProfile } from '../fabric/profile';
import type { Via } from '../sharing/emr-client';

/** A command-line value is missing or malformed; `option` names it (e.g. `--grantee`). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly option?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `<enrollmentId>@<MSPID>`, e.g. `researcher1@ResearchInstituteMSP`. */
export const PARTY_PATTERN = /^[^@]+@[A-Za-z0-9]+$/;

const quote = (v: string) => JSON.stringify(v);

function required(value: string | undefined, option: string): string {
  if (value === undefined || value === '') throw new UsageError(`${option} is required`, option);
  return value;
}

/** Runs one of the chaincode's checkers, reporting its rule against the option instead of the field. */
function checked<T>(option: string, value: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    const detail = (err as { detail?: string }).detail ?? (err as Error).message;
    throw new UsageError(`${option} ${detail}, got ${quote(value)}`, option);
  }
}

/** Parses `<enrollmentId>@<MSPID>` into a party. */
export function parseParty(value: string | undefined, option: string): Party {
  const v = required(value, option);
  if (!PARTY_PATTERN.test(v)) throw new UsageError(`${option} must be <enrollmentId>@<MSPID> (e.g. researcher1@ResearchInstituteMSP), got ${quote(v)}`, option);
  return decodeParty(v, option);
}

/** A consent's grantee: one identity, given as `<enrollmentId>@<MSPID>`, or an area of the consortium as `area:<name>`. */
export function parseGrantee(value: string | undefined, option = '--grantee'): Grantee {
  const v = required(value, option);
  if (v.startsWith('area:')) {
    const area = v.slice('area:'.length);
    if (!AREA_NAME.test(area)) throw new UsageError(`${option} area:<name> needs an area name (a-z 0-9 -, e.g. area:research), got ${quote(v)}`, option);
    return { kind: 'area', area };
  }
  const party = parseParty(v, option);
  return { kind: 'identity', mspId: party.mspId, enrollmentId: party.enrollmentId };
}

export function parsePurpose(value: string | undefined, option = '--purpose'): Purpose {
  const v = required(value, option);
  if (!(PURPOSES as readonly string[]).includes(v)) throw new UsageError(`${option} must be one of ${PURPOSES.join(', ')}, got ${quote(v)}`, option);
  return v as Purpose;
}

export function parseRecordType(value: string | undefined, option = '--type'): RecordType {
  const v = required(value, option);
  if (!(RECORD_TYPES as readonly string[]).includes(v)) throw new UsageError(`${option} must be one of ${RECORD_TYPES.join(', ')}, got ${quote(v)}`, option);
  return v as RecordType;
}

/** A whole number in [min, max], written in decimal digits only. */
export function parseInteger(value: string | undefined, option: string, min: number, max: number): number {
  const v = required(value, option);
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got ${quote(v)}`, option);
  return n;
}

/** An ISO-8601 time (as the chaincode takes it), normalised to UTC. */
export function parseTime(value: string | undefined, option: string): string {
  const v = required(value, option);
  return checked(option, v, () => checkTime(v, option));
}

export function parsePseudonym(value: string | undefined, option = '--patient'): string {
  const v = required(value, option);
  return checked(option, v, () => checkPseudonym(v));
}

/** The rule for categories, spelled out (the chaincode's checkCategory is the authority). */
export const CATEGORY_RULE = "a department path like 'cardiology/ecg': 1 to 8 segments joined by '/', each 1 to 64 characters of a-z 0-9 - starting with a letter or digit";

export function parseCategory(value: string | undefined, option = '--category'): string {
  const v = required(value, option);
  try {
    return checkCategory(v);
  } catch {
    const segments = v.split('/');
    const long = segments.findIndex((s) => s.length > 64);
    const why =
      long >= 0
        ? ` (segment ${long + 1} is ${segments[long]!.length} characters long, the limit is 64)`
        : segments.length > 8
          ? ` (it has ${segments.length} segments, the limit is 8)`
          : segments.some((s) => s === '')
            ? ' (it has an empty segment)'
            : '';
    throw new UsageError(`${option} must be ${CATEGORY_RULE}${why}, got ${quote(v)}`, option);
  }
}

export function parseRecordId(value: string | undefined, option: string): string {
  const v = required(value, option);
  return checked(option, v, () => checkRecordId(v));
}

/** A comma-separated list of distinct record ids. */
export function parseRecordIds(value: string | undefined, option = '--records'): string[] {
  const ids = required(value, option)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (ids.length === 0 || ids.length > MAX_SCOPE_RECORDS) throw new UsageError(`${option} must list 1 to ${MAX_SCOPE_RECORDS} record ids separated by commas`, option);
  ids.forEach((id) => parseRecordId(id, option));
  if (new Set(ids).size !== ids.length) throw new UsageError(`${option} must not repeat a record id`, option);
  return ids;
}

/** `--consent <id>` or `--grant <id>`, never both; `required` when the command needs one. */
export function parseVia(options: { consent?: string; grant?: string; area?: boolean; patient?: string }, isRequired: boolean): Via | undefined {
  const { consent, grant, area, patient } = options;
  if ([consent, grant, area || undefined].filter((v) => v !== undefined).length > 1) throw new UsageError('give one of --consent, --grant or --area', area ? '--area' : '--consent');
  if (patient !== undefined && !area) throw new UsageError('--patient goes with --area (the patient of an unlinked record)', '--patient');
  if (consent !== undefined) return { consentId: parseRecordId(consent, '--consent') };
  if (grant !== undefined) return { grantId: parseRecordId(grant, '--grant') };
  if (area) return { area: true, ...(patient !== undefined ? { patientPseudonym: parsePseudonym(patient, '--patient') } : {}) };
  if (isRequired) throw new UsageError('one of --consent <consentId>, --grant <grantId> or --area is required', '--consent');
  return undefined;
}

/**
 * `emr fetch` without --consent or --grant reads as the record's patient; anyone else must say
 * which consent or grant he reads under. `role` is the caller's role from the connection
 * profile (undefined when it cannot be read: the connection then reports why).
 */
export function requireViaUnlessPatient(via: Via | undefined, role: string | undefined, command = 'fetch'): void {
  if (via || role === undefined || role === 'patient') return;
  throw new UsageError(
    `${command} as a ${role} needs --consent <consentId> (the consent the patient granted you, printed by his \`emr grant\`), --grant <grantId> (a grant delegated to you, printed by \`emr delegate\`) or --area (the rules of your areas); only a patient reads his own records without one`,
    '--consent',
  );
}

/** The raw values of `emr grant`'s options, as commander hands them over. */
export interface GrantOptions {
  patient?: string;
  grantee?: string;
  purpose?: string;
  category?: string;
  type?: string;
  records?: string;
  validFrom?: string;
  validUntil?: string;
  maxAccesses?: string;
  hopLimit?: string;
}

export const DEFAULT_MAX_ACCESSES = 10;
export const DEFAULT_HOP_LIMIT = 1;
export const DEFAULT_VALIDITY_MS = 24 * 3600_000;
/** The default start lies a minute back, so a consent is usable at once despite clock skew. */
export const DEFAULT_START_SKEW_MS = 60_000;

/** The consent `emr grant` asks for (the SDK adds the id). */
export function grantInput(o: GrantOptions, now: Date = new Date()): Omit<ConsentInput, 'consentId'> {
  const patientPseudonym = parsePseudonym(o.patient);
  const grantee = parseGrantee(o.grantee);
  const purpose = parsePurpose(o.purpose);
  const scope: ConsentInput['scope'] = {};
  if (o.category !== undefined) scope.category = parseCategory(o.category);
  if (o.type !== undefined) scope.type = parseRecordType(o.type);
  if (o.records !== undefined) scope.recordIds = parseRecordIds(o.records);
  if (Object.keys(scope).length === 0) throw new UsageError('the consent needs a scope: give at least one of --category, --type, --records', '--category');
  const validFrom = o.validFrom !== undefined ? parseTime(o.validFrom, '--valid-from') : new Date(now.getTime() - DEFAULT_START_SKEW_MS).toISOString();
  const validUntil = o.validUntil !== undefined ? parseTime(o.validUntil, '--valid-until') : new Date(now.getTime() + DEFAULT_VALIDITY_MS).toISOString();
  if (Date.parse(validUntil) <= Date.parse(validFrom)) throw new UsageError(`--valid-until (${validUntil}) must be after --valid-from (${validFrom})`, '--valid-until');
  if (Date.parse(validUntil) <= now.getTime()) throw new UsageError(`--valid-until (${validUntil}) is already past`, '--valid-until');
  const maxAccesses = o.maxAccesses !== undefined ? parseInteger(o.maxAccesses, '--max-accesses', 1, MAX_ACCESSES) : DEFAULT_MAX_ACCESSES;
  const hopLimit = o.hopLimit !== undefined ? parseInteger(o.hopLimit, '--hop-limit', 1, MAX_HOP_LIMIT) : DEFAULT_HOP_LIMIT;
  return { patientPseudonym, grantee, scope, purpose, validFrom, validUntil, maxAccesses, hopLimit };
}

/** The global options every command shares. */
export interface GlobalOptions {
  org: string;
  user: string;
  /** The directory holding network.json. */
  network: string;
  json: boolean;
}

/**
 * Validates the global options. The network directory is `--network`, else $EMR_NETWORK_DIR,
 * else `network/.run` of the checkout the script lives in (`scriptDir` is client/dist/cli).
 */
export function globalOptions(raw: { org?: string; user?: string; network?: string; json?: boolean }, env: NodeJS.ProcessEnv, scriptDir: string): GlobalOptions {
  const org = required(raw.org, '--org');
  const user = required(raw.user, '--user');
  const network = path.resolve(raw.network || env.EMR_NETWORK_DIR || path.resolve(scriptDir, '../../../network/.run'));
  return { org, user, network, json: raw.json === true };
}

/**
 * The caller's role as the connection profile lists it (`users[user].role` of the org), or
 * undefined when the profile cannot be read or does not list him (connecting reports that).
 */
export function profileRole(options: Pick<GlobalOptions, 'network' | 'org' | 'user'>): string | undefined {
  try {
    return loadProfile(options.network).orgs[options.org]?.users[options.user]?.role;
  } catch {
    return undefined;
  }
}

/** The enrollment ids of an org's users with `role` in the connection profile (for hints). */
export function profileUsers(options: Pick<GlobalOptions, 'network' | 'org'>, role: string): string[] {
  try {
    return Object.entries(loadProfile(options.network).orgs[options.org]?.users ?? {})
      .filter(([, u]) => u.role === role)
      .map(([id]) => id)
      .sort();
  } catch {
    return [];
  }
}

const SUITES: Record<string, CipherSuite> = { aes: 'aes-256-gcm-stream.v1', sm: 'sm4-ctr-hmac-sm3-stream.v1' };
/** `aes` or `sm`: a record content suite by its short name. */
export function parseSuite(value: string, option = '--suite'): CipherSuite {
  const suite = SUITES[value];
  if (!suite) throw new UsageError(`${option}: must be aes or sm, got ${JSON.stringify(value)}`, option);
  return suite;
}
