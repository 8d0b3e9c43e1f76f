/**
 * The record index on the world state: input validation and the store. The record's shape
 * and its ids are the shared vocabulary's (@emr/protocol).
 */
import { CATEGORY_LABEL, ChaincodeError, ErrorCode, SIGNATURE_PATTERN, isBlindedCategory, MAX_PAGE_SIZE, RECORD_TYPES, categoryAncestors, checkCategory, createdRecord, checkPseudonym, checkRecordId, invalid, isId, isRecordPseudonym, ID_RULE, type Caller, type EmrRecord, type EmrRecordInput, type InternalMetadata, type RecordPage, type RecordType } from '@emr/protocol';
import { CIPHER_SUITES } from '@emr/crypto';
import { encode, found, implicitCollection, indexPage, parseJsonObject, readJson, sha256Hex, type StateStore, type TxContext } from './ledger';

/** The record's own fields (its ids are checked by ids.ts of @emr/protocol). */
const PATTERNS: Record<string, [RegExp, string]> = {
  cid: [/^b[a-z2-7]{50,120}$/, 'must be a base32 CIDv1 (starting with "b")'],
  ciphertextSha256: [/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'],
  // One of @emr/crypto's record suites, so every indexed record names a cipher a reader has.
  cipherSuite: [new RegExp(`^(${CIPHER_SUITES.map((x) => x.replace(/\./g, '\\.')).join('|')})$`), `must be one of ${CIPHER_SUITES.join(', ')}`],
  encapsulatedKey: [/^[A-Za-z0-9_-]{1,8192}$/, 'must be base64url without padding, at most 8192 characters'],
};
const INPUT_FIELDS = new Set(['recordId', 'patientPseudonym', 'category', ...Object.keys(PATTERNS), 'ancestorKeys', 'type', 'size', 'supersedes', 'patientSignature', 'categoryLabel']);

function requireString(obj: Record<string, unknown>, field: string): string {
  const value = obj[field];
  if (typeof value !== 'string') throw invalid(field, value === undefined ? 'is required' : 'must be a string');
  return value;
}

function checkString(obj: Record<string, unknown>, field: string): string {
  const value = requireString(obj, field);
  const [pattern, rule] = PATTERNS[field]!;
  if (!pattern.test(value)) throw invalid(field, rule);
  return value;
}

/** Parses and validates a JSON record input; errors name the offending field. */
export function parseRecordInput(json: string): EmrRecordInput {
  const obj = parseJsonObject(json, 'record');
  const unknown = Object.keys(obj).find((k) => !INPUT_FIELDS.has(k));
  if (unknown !== undefined) throw invalid(unknown, 'is not a field of a record');

  const type = checkRecordType(obj.type);
  const size = obj.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid('size', 'must be a non-negative integer');
  let supersedes: string | undefined;
  if (obj.supersedes !== undefined) {
    if (!isId(obj.supersedes)) throw invalid('supersedes', `must be a record id (${ID_RULE})`);
    supersedes = obj.supersedes;
  }
  let patientSignature: string | undefined;
  if (obj.patientSignature !== undefined) patientSignature = checkSignature(obj.patientSignature, 'patientSignature');
  const category = checkCategory(requireString(obj, 'category'));
  const categoryLabel = checkCategoryLabel(obj.categoryLabel, category);
  return {
    recordId: checkRecordId(requireString(obj, 'recordId')),
    patientPseudonym: checkRecordOwner(requireString(obj, 'patientPseudonym')),
    category,
    type,
    cid: checkString(obj, 'cid'),
    ciphertextSha256: checkString(obj, 'ciphertextSha256'),
    size,
    cipherSuite: checkString(obj, 'cipherSuite'),
    encapsulatedKey: checkString(obj, 'encapsulatedKey'),
    ancestorKeys: checkAncestorKeys(obj.ancestorKeys, category),
    ...(supersedes !== undefined ? { supersedes } : {}),
    ...(patientSignature !== undefined ? { patientSignature } : {}),
    ...(categoryLabel !== undefined ? { categoryLabel } : {}),
  };
}

/** A patient's pseudonym, or an unlinked record's own (@emr/protocol linking.ts). */
function checkRecordOwner(value: string): string {
  if (isRecordPseudonym(value)) return value;
  if (value.startsWith('rp-')) throw invalid('patientPseudonym', 'must be a record pseudonym: "rp-" and 64 lowercase hex characters');
  return checkPseudonym(value);
}

/** A sealed label goes only with a blinded path: a clear one names itself. */
function checkCategoryLabel(value: unknown, category: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isBlindedCategory(category)) throw invalid('categoryLabel', 'goes only with a blinded category (the category is in the clear)');
  if (typeof value !== 'string' || !CATEGORY_LABEL.test(value)) throw invalid('categoryLabel', 'must be a sealed label: 39-732 base64url characters');
  return value;
}

export const checkEncapsulatedKey = (value: unknown): string => checkString({ encapsulatedKey: value }, 'encapsulatedKey');

/** One capsule per ancestor of `category`, the parent first and the root last (@emr/protocol's categoryAncestors). */
export function checkAncestorKeys(value: unknown, category: string, field = 'ancestorKeys'): string[] {
  const ancestors = categoryAncestors(category);
  if (!Array.isArray(value) || value.length !== ancestors.length) {
    throw invalid(field, `must hold the data key encapsulated to each ancestor of '${category}' in this order: ${ancestors.join(', ')} (${ancestors.length} capsules)`);
  }
  const [pattern, rule] = PATTERNS.encapsulatedKey!;
  return value.map((v: unknown, i) => {
    if (typeof v !== 'string' || !pattern.test(v)) throw invalid(`${field}[${i}]`, rule);
    return v;
  });
}

export function checkSignature(value: unknown, field = 'signature'): string {
  if (typeof value !== 'string' || !SIGNATURE_PATTERN.test(value)) throw invalid(field, 'must be a base64url DER signature (ECDSA or SM2)');
  return value;
}

export function checkRecordType(value: unknown, field = 'type'): RecordType {
  if (!(RECORD_TYPES as readonly unknown[]).includes(value)) throw invalid(field, `must be one of ${RECORD_TYPES.join(', ')}`);
  return value as RecordType;
}

/** A page size as it travels: decimal digits for 1 to MAX_PAGE_SIZE (Number() would also read '0x10', ' 5' and '1e1'). */
export function parsePageSize(text: string): number {
  const value = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= MAX_PAGE_SIZE)) throw invalid('pageSize', `must be an integer from 1 to ${MAX_PAGE_SIZE} in decimal digits`);
  return value;
}

const RECORD = 'emr.record';
const BY_PATIENT = 'emr.record~patient';
const SUCCESSOR = 'emr.record~successor';
const INTERNAL = 'emr.internal';
/** The first record filed under an unlinked record pseudonym: one pseudonym, one record and its versions. */
const PSEUDONYM_CLAIM = 'emr.record~claim';
/** Hospital-internal metadata (ward, local record number, ...): a JSON object of at most this many bytes. */
export const MAX_INTERNAL_BYTES = 16 * 1024;

/** EMR index records on the world state, keyed by composite keys. */
export class RecordStore {
  constructor(private readonly state: StateStore) {}

  async get(recordId: string): Promise<EmrRecord | undefined> {
    const record = await readJson<EmrRecord>(this.state, RECORD, [recordId]);
    // Records indexed before ancestor capsules existed have none.
    return record && !record.ancestorKeys ? { ...record, ancestorKeys: [] } : record;
  }

  async require(recordId: string): Promise<EmrRecord> {
    return found(await this.get(recordId), 'recordId', `record '${recordId}' does not exist`);
  }

  /** The keys `create` reads (for StateStore.prefetch). */
  keysToCreate(input: EmrRecordInput): string[] {
    const record = (id: string) => this.state.createCompositeKey(RECORD, [id]);
    const claim = isRecordPseudonym(input.patientPseudonym) ? [this.state.createCompositeKey(PSEUDONYM_CLAIM, [input.patientPseudonym])] : [];
    return input.supersedes === undefined ? [record(input.recordId), ...claim] : [record(input.recordId), record(input.supersedes), this.state.createCompositeKey(SUCCESSOR, [input.supersedes])];
  }

  private put = (record: EmrRecord) => this.state.putState(this.state.createCompositeKey(RECORD, [record.recordId]), encode(record));

  /** The latest version: no record supersedes it. */
  async isCurrent(recordId: string): Promise<boolean> {
    const successor = await this.state.getState(this.state.createCompositeKey(SUCCESSOR, [recordId]));
    return !successor || successor.length === 0;
  }

  /**
   * Creates a record, or a new version of one; nothing is ever overwritten. `approve`
   * checks the patient's signature over the final fields before anything is written.
   */
  async create(input: EmrRecordInput, caller: Caller, tx: TxContext, approve?: (record: EmrRecord) => void): Promise<EmrRecord> {
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
      if (!(await this.isCurrent(previous.recordId))) {
        throw new ChaincodeError(ErrorCode.Conflict, `record '${previous.recordId}' is already superseded`, 'supersedes');
      }
      version = previous.version + 1;
    } else if (isRecordPseudonym(input.patientPseudonym)) {
      // A fresh record pseudonym per record: a reused one would tie two records together.
      const claim = this.state.createCompositeKey(PSEUDONYM_CLAIM, [input.patientPseudonym]);
      const holder = Buffer.from(await this.state.getState(claim)).toString('utf8');
      if (holder) throw new ChaincodeError(ErrorCode.Conflict, `record pseudonym ${input.patientPseudonym} already names record '${holder}'; file under the patient's next one`, 'patientPseudonym');
      await this.state.putState(claim, Buffer.from(input.recordId, 'utf8'));
    }
    const record = createdRecord(input, { recordId: input.recordId, version, ownerMsp: caller.mspId, createdBy: caller.enrollmentId, createdAt: tx.timestamp.toISOString(), txId: tx.txId });
    approve?.(record);
    if (input.supersedes !== undefined) await this.state.putState(this.state.createCompositeKey(SUCCESSOR, [input.supersedes]), Buffer.from(input.recordId, 'utf8'));
    await this.put(record);
    await this.state.putState(this.state.createCompositeKey(BY_PATIENT, [record.patientPseudonym, record.recordId]), Buffer.from([0]));
    return record;
  }

  /**
   * Crypto-shredding on the chain's side: the capsule (the only copy of the data key on the
   * world state) is removed and the record marked erased; the CID and hashes stay as evidence.
   */
  async erase(record: EmrRecord, caller: Caller, tx: TxContext): Promise<EmrRecord> {
    if (record.erased) throw new ChaincodeError(ErrorCode.Conflict, `record '${record.recordId}' was already erased`, 'recordId');
    const erased: EmrRecord = { ...record, encapsulatedKey: '', ancestorKeys: [], erased: { erasedAt: tx.timestamp.toISOString(), erasedBy: caller.enrollmentId, txId: tx.txId } };
    await this.put(erased);
    return erased;
  }

  /** Attaches the patient's signature over the fields as they stand. */
  async approve(record: EmrRecord, signature: string, verify: (r: EmrRecord) => void, tx: TxContext): Promise<EmrRecord> {
    if (record.erased) throw new ChaincodeError(ErrorCode.Conflict, `record '${record.recordId}' was erased`, 'recordId');
    if (record.patientApproval) throw new ChaincodeError(ErrorCode.Conflict, `record '${record.recordId}' already carries the patient's signature`, 'recordId');
    const approved: EmrRecord = { ...record, patientApproval: { signature, signedAt: tx.timestamp.toISOString(), txId: tx.txId } };
    verify(approved);
    await this.put(approved);
    return approved;
  }

  /**
   * The patient switches the current version's type: the data key is re-encapsulated for
   * the new type's slot (crypto switchType), and he signs the fields as they become.
   */
  async switchType(record: EmrRecord, change: { type: RecordType; encapsulatedKey: string; ancestorKeys: string[]; signature: string }, verify: (r: EmrRecord) => void, tx: TxContext): Promise<EmrRecord> {
    if (record.erased) throw new ChaincodeError(ErrorCode.Conflict, `record '${record.recordId}' was erased`, 'recordId');
    if (record.type === change.type) throw new ChaincodeError(ErrorCode.Conflict, `record '${record.recordId}' is already ${change.type}`, 'type');
    if (!(await this.isCurrent(record.recordId))) throw new ChaincodeError(ErrorCode.Conflict, `record '${record.recordId}' is superseded; switch the current version`, 'recordId');
    const switched: EmrRecord = {
      ...record,
      type: change.type,
      encapsulatedKey: change.encapsulatedKey,
      ancestorKeys: change.ancestorKeys,
      patientApproval: { signature: change.signature, signedAt: tx.timestamp.toISOString(), txId: tx.txId },
    };
    verify(switched);
    await this.put(switched);
    return switched;
  }

  /** Writes the owning hospital's internal metadata of a record to its implicit collection, once. */
  async putInternal(record: EmrRecord, metadata: Record<string, unknown>, caller: Caller, tx: TxContext): Promise<{ recordId: string; sha256: string }> {
    const collection = implicitCollection(record.ownerMsp);
    const key = this.state.createCompositeKey(INTERNAL, [record.recordId]);
    const existing = await this.state.getPrivateDataHash(collection, key);
    if (existing && existing.length > 0) throw new ChaincodeError(ErrorCode.Conflict, `record '${record.recordId}' already has internal metadata`, 'recordId');
    const value: InternalMetadata = { recordId: record.recordId, metadata, writtenBy: caller.enrollmentId, writtenAt: tx.timestamp.toISOString(), txId: tx.txId };
    const bytes = encode(value);
    await this.state.putPrivateData(collection, key, bytes);
    return { recordId: record.recordId, sha256: sha256Hex(bytes) };
  }

  async getInternal(record: EmrRecord): Promise<InternalMetadata> {
    const bytes = await this.state.getPrivateData(implicitCollection(record.ownerMsp), this.state.createCompositeKey(INTERNAL, [record.recordId]));
    if (!bytes || bytes.length === 0) throw new ChaincodeError(ErrorCode.NotFound, `record '${record.recordId}' has no internal metadata`, 'recordId');
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as InternalMetadata;
  }

  /**
   * The records filed under these record pseudonyms, with their later versions: point reads of
   * the pseudonyms' claims, then of the records and their successors, one round trip per
   * version depth (a range query per pseudonym would cost one each).
   */
  async findByRecordPseudonyms(pseudonyms: string[]): Promise<EmrRecord[]> {
    const text = async (key: string) => Buffer.from(await this.state.getState(key)).toString('utf8');
    const claims = pseudonyms.map((p) => this.state.createCompositeKey(PSEUDONYM_CLAIM, [p]));
    await this.state.prefetch(claims);
    let ids = (await Promise.all(claims.map(text))).filter(Boolean);
    const found: EmrRecord[] = [];
    while (ids.length > 0) {
      const successors = ids.map((id) => this.state.createCompositeKey(SUCCESSOR, [id]));
      await this.state.prefetch([...ids.map((id) => this.state.createCompositeKey(RECORD, [id])), ...successors]);
      for (const id of ids) found.push(await this.require(id));
      ids = (await Promise.all(successors.map(text))).filter(Boolean);
    }
    return found;
  }

  /** One page of a patient's records, in record-id order. */
  async listByPatient(patientPseudonym: string, pageSize: number, bookmark: string): Promise<RecordPage> {
    const { items, bookmark: next } = await indexPage(this.state, BY_PATIENT, [patientPseudonym], pageSize, bookmark, (id) => this.require(id));
    return { records: items, bookmark: next };
  }
}
