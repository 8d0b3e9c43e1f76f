/**
 * The world-state plumbing every store shares: the part of fabric-shim's stub we use,
 * canonical JSON values, composite-key pages, and JSON argument parsing.
 */
import { createHash } from 'node:crypto';
import { ChaincodeError, ErrorCode, canonicalJson, invalid } from '@emr/protocol';

/** The subset of fabric-shim's ChaincodeStub the stores use. */
export interface StateStore {
  getState(key: string): Promise<Uint8Array>;
  /** Reads these keys now, in one round trip where the peer allows it; getState of them then costs nothing. */
  prefetch(keys: readonly string[]): Promise<void>;
  putState(key: string, value: Uint8Array): Promise<void>;
  /** One chaincode event per transaction (Fabric keeps the last one set). */
  setEvent(name: string, payload: Uint8Array): void;
  createCompositeKey(objectType: string, attributes: string[]): string;
  getStateByPartialCompositeKeyWithPagination(
    objectType: string,
    attributes: string[],
    pageSize: number,
    bookmark: string,
  ): Promise<StateQueryPage>;
  /** Key-level (state-based) endorsement policy for later writes of a key. */
  setStateValidationParameter(key: string, policy: Uint8Array): Promise<void>;
  getPrivateData(collection: string, key: string): Promise<Uint8Array>;
  putPrivateData(collection: string, key: string, value: Uint8Array): Promise<void>;
  /** Readable on every peer: the SHA-256 of a private value, from the public hashed state. */
  getPrivateDataHash(collection: string, key: string): Promise<Uint8Array>;
  getTransient(): Map<string, Uint8Array>;
}
/** fabric-shim's StateQueryIterator (it has next(), but no Symbol.asyncIterator). */
export interface StateIterator {
  next(): Promise<{ value?: { key: string; value: Uint8Array }; done?: boolean }>;
  close(): Promise<void>;
}
export interface StateQueryPage {
  iterator: StateIterator;
  metadata: { fetchedRecordsCount: number; bookmark: string };
}

/** The transaction's id and timestamp (never the local clock: endorsers must agree). */
export function txOf(ctx: { stub: { getTxID(): string; getTxTimestamp(): { seconds: number | { toNumber(): number } | bigint; nanos: number } } }): TxContext {
  const ts = ctx.stub.getTxTimestamp();
  return { txId: ctx.stub.getTxID(), timestamp: new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)) };
}

/** A composite key's last attribute (fabric-shim separates attributes with U+0000). */
export const lastKeyPart = (key: string): string => key.split('\u0000').filter(Boolean).pop()!;

/** Reads every key of an iterator page and closes it. */
export async function keysOf(page: StateQueryPage): Promise<string[]> {
  const keys: string[] = [];
  try {
    for (let r = await page.iterator.next(); !r.done && r.value; r = await page.iterator.next()) keys.push(r.value.key);
  } finally {
    await page.iterator.close();
  }
  return keys;
}

/** Ledger facts of the current transaction. */
export interface TxContext {
  txId: string;
  timestamp: Date;
}

export const encode = (value: unknown): Uint8Array => Buffer.from(canonicalJson(value), 'utf8');

/** The JSON value under a composite key, or undefined when there is none. */
export async function readJson<T>(state: StateStore, objectType: string, attributes: string[]): Promise<T | undefined> {
  const bytes = await state.getState(state.createCompositeKey(objectType, attributes));
  return bytes && bytes.length > 0 ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as T) : undefined;
}

/** The value, or NOT_FOUND[field] with `detail` when there is none. */
export function found<T>(value: T | undefined, field: string, detail: string): T {
  if (value === undefined) throw new ChaincodeError(ErrorCode.NotFound, detail, field);
  return value;
}

/**
 * One page of an index whose keys end in an object id: loads each object, and answers the
 * bookmark for the next page ('' when this page is the last).
 *
 * The peer starts the page at the bookmark without checking that it lies in the range asked
 * for (Fabric's core/chaincode/handler.go puts it in place of the start key), so a bookmark
 * of another range would list that range's keys: another patient's consents or log to a
 * caller authorized for his own. A bookmark the peer returns is the next key of the range,
 * so anything else is refused.
 */
export async function indexPage<T>(
  state: StateStore,
  index: string,
  attributes: string[],
  pageSize: number,
  bookmark: string,
  load: (id: string) => Promise<T>,
): Promise<{ items: T[]; bookmark: string }> {
  if (bookmark !== '' && !bookmark.startsWith(state.createCompositeKey(index, attributes))) throw invalid('bookmark', "must be '' or a bookmark this list returned");
  const page = await state.getStateByPartialCompositeKeyWithPagination(index, attributes, pageSize, bookmark);
  const ids = (await keysOf(page)).map(lastKeyPart);
  const items: T[] = [];
  for (const id of ids) items.push(await load(id));
  return { items, bookmark: ids.length < pageSize ? '' : page.metadata.bookmark };
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a transaction argument that must be a JSON object; `what` names it in the error. */
export function parseJsonObject(json: string, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw invalid(what, 'must be a JSON object');
  }
  if (!isObject(raw)) throw invalid(what, 'must be a JSON object');
  return raw;
}

/** Rejects the first field not in `allowed`, naming it (with `prefix` for nested objects). */
export function rejectUnknownFields(obj: Record<string, unknown>, allowed: readonly string[], prefix = ''): void {
  const extra = Object.keys(obj).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw invalid(`${prefix}${extra}`, 'is not a known field');
}

/** Every later write of `key` needs an endorsement from a peer of `mspId` (state-based endorsement). */
export async function endorsedBy(state: StateStore, key: string, mspId: string): Promise<void> {
  // Loaded here, not at import: fabric-shim's logger installs process-wide handlers that
  // swallow uncaught errors, and the SDK and services import this module's neighbours.
  const { KeyEndorsementPolicy } = await import('fabric-shim');
  const policy = new KeyEndorsementPolicy();
  policy.addOrgs('PEER', mspId);
  await state.setStateValidationParameter(key, policy.getPolicy());
}

/** An org's implicit private data collection: stored on that org's peers only, hashed on every ledger. */
export const implicitCollection = (mspId: string): string => `_implicit_org_${mspId}`;

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** A transient (never on the ledger) argument, as UTF-8 text. */
export function transientText(state: StateStore, name: string, maxBytes: number): string {
  const bytes = state.getTransient().get(name);
  if (!bytes || bytes.length === 0) throw invalid(name, `is required as transient data '${name}' (it never reaches the ledger)`);
  if (bytes.length > maxBytes) throw invalid(name, `must be at most ${maxBytes} bytes`);
  return Buffer.from(bytes).toString('utf8');
}
