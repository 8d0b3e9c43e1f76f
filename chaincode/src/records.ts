import { ChaincodeError, ErrorCode, invalid } from './errors';
import { encode, indexPage, parseJsonObject, readJson, type StateStore, type TxContext } from './ledger';
import type { Caller } from './roles';

export const RECORD_TYPES = ['sharable', 'non-sharable'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** What a caller submits to index a new record (or a new version of one). */
export interface EmrRecordInput {
  /** Client-chosen id, unique on the ledger. */
  recordId: string;
  /** Keyed hash (hex SHA-256 HMAC) of the patient's identity: no names or PHI on chain. */
  patientPseudonym: string;
  /** Department path, e.g. `cardiology/ecg`. */
  category: string;
  type: RecordType;
  /** IPFS CIDv1 (base32) of the ciphertext. */
  cid: string;
  /** Hex SHA-256 of the ciphertext bytes. */
  ciphertextSha256: string;
  /** Ciphertext size in bytes. */
  size: number;
  cipherSuite: string;
  /** The data key encapsulated for the patient, base64url; opaque to the chaincode. */
  encapsulatedKey: string;
  /** Id of the record this one replaces; the old version stays on the ledger. */
  supersedes?: string;
}

/** An EMR index record as stored on the ledger. */
export interface EmrRecord extends Omit<EmrRecordInput, 'supersedes'> {
  supersedes: string | null;
  version: number;
  /** MSP id of the hospital that owns the record: the creator's org. */
  ownerMsp: string;
  createdBy: string;
  /** ISO-8601 transaction timestamp. */
  createdAt: string;
  txId: string;
}

export interface RecordPage {
  records: EmrRecord[];
  /** Pass back to get the next page; empty when there is none. */
  bookmark: string;
}

export const MAX_PAGE_SIZE = 100;

const PATTERNS: Record<string, [RegExp, string]> = {
  recordId: [/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit'],
  patientPseudonym: [/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (a keyed hash, never a name)'],
  category: [/^[a-z0-9][a-z0-9-]{0,63}(\/[a-z0-9][a-z0-9-]{0,63}){0,7}$/, "must be a department path like 'cardiology/ecg' (lowercase segments, at most 8)"],
  cid: [/^b[a-z2-7]{50,120}$/, 'must be a base32 CIDv1 (starting with "b")'],
  ciphertextSha256: [/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'],
  cipherSuite: [/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 characters of a-z 0-9 . _ -'],
  encapsulatedKey: [/^[A-Za-z0-9_-]{1,8192}$/, 'must be base64url without padding, at most 8192 characters'],
};
const INPUT_FIELDS = new Set([...Object.keys(PATTERNS), 'type', 'size', 'supersedes']);

function checkString(obj: Record<string, unknown>, field: string): string {
  const value = obj[field];
  if (typeof value !== 'string') throw invalid(field, value === undefined ? 'is required' : 'must be a string');
  const [pattern, rule] = PATTERNS[field]!;
  if (!pattern.test(value)) throw invalid(field, rule);
  return value;
}

/** Parses and validates a JSON record input; errors name the offending field. */
export function parseRecordInput(json: string): EmrRecordInput {
  const obj = parseJsonObject(json, 'record');
  const unknown = Object.keys(obj).find((k) => !INPUT_FIELDS.has(k));
  if (unknown !== undefined) throw invalid(unknown, 'is not a field of a record');

  const type = obj.type;
  if (!(RECORD_TYPES as readonly unknown[]).includes(type)) throw invalid('type', `must be one of ${RECORD_TYPES.join(', ')}`);
  const size = obj.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid('size', 'must be a non-negative integer');
  let supersedes: string | undefined;
  if (obj.supersedes !== undefined) {
    if (typeof obj.supersedes !== 'string' || !PATTERNS.recordId![0].test(obj.supersedes)) {
      throw invalid('supersedes', `must be a record id (${PATTERNS.recordId![1]})`);
    }
    supersedes = obj.supersedes;
  }
  return {
    recordId: checkString(obj, 'recordId'),
    patientPseudonym: checkString(obj, 'patientPseudonym'),
    category: checkString(obj, 'category'),
    type: type as RecordType,
    cid: checkString(obj, 'cid'),
    ciphertextSha256: checkString(obj, 'ciphertextSha256'),
    size,
    cipherSuite: checkString(obj, 'cipherSuite'),
    encapsulatedKey: checkString(obj, 'encapsulatedKey'),
    ...(supersedes !== undefined ? { supersedes } : {}),
  };
}

export function parsePageSize(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_PAGE_SIZE) throw invalid('pageSize', `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  return value;
}

export function checkRecordId(value: string, field = 'recordId'): string {
  if (!PATTERNS.recordId![0].test(value)) throw invalid(field, PATTERNS.recordId![1]);
  return value;
}

export function checkCategory(value: unknown, field = 'category'): string {
  if (typeof value !== 'string' || !PATTERNS.category![0].test(value)) throw invalid(field, PATTERNS.category![1]);
  return value;
}

export function checkEnrollmentId(value: string, field = 'enrollmentId'): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9@._-]{0,127}$/.test(value)) throw invalid(field, 'must be an enrollment id: 1-128 characters of A-Z a-z 0-9 @ . _ -');
  return value;
}

export function checkMspId(value: unknown, field = 'mspId'): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/.test(value)) throw invalid(field, 'must be an MSP id');
  return value;
}

export function checkPseudonym(value: string): string {
  if (!PATTERNS.patientPseudonym![0].test(value)) throw invalid('patientPseudonym', PATTERNS.patientPseudonym![1]);
  return value;
}

const RECORD = 'emr.record';
const BY_PATIENT = 'emr.record~patient';
const SUCCESSOR = 'emr.record~successor';

/** EMR index records on the world state, keyed by composite keys. */
export class RecordStore {
  constructor(private readonly state: StateStore) {}

  async get(recordId: string): Promise<EmrRecord | undefined> {
    return readJson<EmrRecord>(this.state, RECORD, [recordId]);
  }

  async require(recordId: string): Promise<EmrRecord> {
    const record = await this.get(recordId);
    if (!record) throw new ChaincodeError(ErrorCode.NotFound, `record '${recordId}' does not exist`, 'recordId');
    return record;
  }

  /** Creates a record, or a new version of one; nothing is ever overwritten. */
  async create(input: EmrRecordInput, caller: Caller, tx: TxContext): Promise<EmrRecord> {
    if (await this.get(input.recordId)) {
      throw new ChaincodeError(ErrorCode.Conflict, `record '${input.recordId}' already exists; versions never overwrite`, 'recordId');
    }
    let version = 1;
    if (input.supersedes !== undefined) {
      const previous = await this.get(input.supersedes);
      if (!previous) throw new ChaincodeError(ErrorCode.NotFound, `record '${input.supersedes}' does not exist`, 'supersedes');
      if (previous.patientPseudonym !== input.patientPseudonym) throw invalid('supersedes', 'names a record of another patient');
      if (previous.ownerMsp !== caller.mspId) {
        throw new ChaincodeError(ErrorCode.Unauthorized, `record '${previous.recordId}' is owned by ${previous.ownerMsp}`, 'supersedes');
      }
      const successorKey = this.state.createCompositeKey(SUCCESSOR, [previous.recordId]);
      const successor = await this.state.getState(successorKey);
      if (successor && successor.length > 0) {
        throw new ChaincodeError(ErrorCode.Conflict, `record '${previous.recordId}' is already superseded by '${Buffer.from(successor).toString('utf8')}'`, 'supersedes');
      }
      await this.state.putState(successorKey, Buffer.from(input.recordId, 'utf8'));
      version = previous.version + 1;
    }
    const record: EmrRecord = {
      ...input,
      supersedes: input.supersedes ?? null,
      version,
      ownerMsp: caller.mspId,
      createdBy: caller.enrollmentId,
      createdAt: tx.timestamp.toISOString(),
      txId: tx.txId,
    };
    await this.state.putState(this.state.createCompositeKey(RECORD, [record.recordId]), encode(record));
    await this.state.putState(this.state.createCompositeKey(BY_PATIENT, [record.patientPseudonym, record.recordId]), Buffer.from([0]));
    return record;
  }

  /** One page of a patient's records, in record-id order. */
  async listByPatient(patientPseudonym: string, pageSize: number, bookmark: string): Promise<RecordPage> {
    const { items, bookmark: next } = await indexPage(this.state, BY_PATIENT, [patientPseudonym], pageSize, bookmark, (id) => this.require(id));
    return { records: items, bookmark: next };
  }
}
