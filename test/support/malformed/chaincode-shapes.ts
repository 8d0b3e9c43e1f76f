/**
 * The shapes the malformed chaincode calls are built from: a call and the refusal it must
 * get, a transaction's well-formed base call, its arguments (positional text, or a JSON
 * object with its fields) and what each kind of argument may hold.
 */
import type { Role, TransactionName } from '@emr/protocol';
import type { Identity } from './gateways';
import type { Random } from './random';
import { outOfRangePageSize, outOfRangeTime, type Kind } from './values';
import type { World } from './world';

export const INPUT_CLASSES = ['wrong-type', 'missing-field', 'extra-field', 'huge-string', 'unicode', 'out-of-range', 'other-patient', 'wrong-role', 'replayed-signature'] as const;
export type InputClass = (typeof INPUT_CLASSES)[number];

/** The refusal a call must get: this code, naming one of `fields` when given. */
export interface Expected {
  code: string;
  fields?: readonly string[];
}

export interface ChaincodeCall {
  transaction: TransactionName;
  inputClass: InputClass;
  /** The defect, in words (printed when the call is not refused as expected). */
  what: string;
  caller: Identity;
  /** The arguments as they travel: text. */
  args: string[];
  /** Transient data, as text; such a call is endorsed by the caller's org only, as the SDK sends it. */
  transient?: Record<string, string>;
  /** Sign the proposal with this identity's signature of another proposal. */
  foreignSignature?: boolean;
  /** Send this signed proposal of a committed transaction again, as it is. */
  replay?: Uint8Array;
  /** Endorsed (or evaluated) by the caller's org only. */
  ownOrg?: boolean;
  expect: Expected;
}

/**
 * Codes of the refusals the peers make before the chaincode runs (client/src/fabric/errors.ts
 * names them): a proposal signed with another proposal's signature, a committed transaction sent again.
 */
export const ACCESS_DENIED = 'ACCESS_DENIED';
export const DUPLICATE_TRANSACTION = 'DUPLICATE_TRANSACTION';

export const invalid = (...fields: string[]): Expected => ({ code: 'INVALID_ARGUMENT', fields });
export const unauthorized = (...fields: string[]): Expected => ({ code: 'UNAUTHORIZED', ...(fields.length ? { fields } : {}) });

export interface Field {
  kind: Kind;
  optional?: boolean;
  /** Out-of-range values of this field (it has a range). */
  outOfRange?: (r: Random) => unknown;
  /** The fields a bad value of this one may be refused under (default: its own name). */
  refusedAs?: readonly string[];
}
export type Arg = { name: string; kind: Exclude<Kind, 'int' | 'object' | 'array'>; value: string; outOfRange?: (r: Random) => string } | { name: string; kind: 'json'; value: Record<string, unknown>; fields: Record<string, Field> };

export interface Base {
  caller: Identity;
  args: Arg[];
  /** One transient text value (PutInternalMetadata's metadata, RecordJustification's justification). */
  transient?: { name: string; kind: 'json' | 'text'; value: string; outOfRange?: (r: Random) => string };
  ownOrg?: boolean;
}

/** A call's parts before the transaction and class are attached. */
export type CallParts = Omit<ChaincodeCall, 'transaction' | 'inputClass'>;

export interface Spec {
  base(c: Context): Base;
  otherPatient?: (c: Context, base: Base) => CallParts;
  replayedSignature?: (c: Context, base: Base) => CallParts;
  outOfRange?: (c: Context, base: Base) => CallParts;
}

/** What a spec builds calls from. */
export interface Context {
  transaction: TransactionName;
  w: World;
  r: Random;
  /** A signature of `payload` by this identity's enrollment key, as the SDK makes one. */
  sign(id: Identity, payload: string): string;
  /** Wallet identities with their roles. */
  identities: readonly (Identity & { role: Role })[];
  /** A fresh id for this call (no such record, consent or break-glass exists). */
  fresh(prefix: string): string;
}

// Positional arguments.
export const id = (name: string, value: string): Arg => ({ name, kind: 'id', value });
export const pseudonym = (name: string, value: string): Arg => ({ name, kind: 'pseudonym', value });
export const entryId = (name: string, value: string): Arg => ({ name, kind: 'entryId', value });
export const mspId = (value: string): Arg => ({ name: 'mspId', kind: 'mspId', value });
export const enrollmentId = (value: string): Arg => ({ name: 'enrollmentId', kind: 'enrollmentId', value });
export const purpose = (value: string): Arg => ({ name: 'purpose', kind: 'purpose', value });
const pageSize = (): Arg => ({ name: 'pageSize', kind: 'pageSize', value: '10', outOfRange: outOfRangePageSize });
/** Bookmarks outside the list's own range: below it (the peer would start the scan there) or above it. */
const bookmark = (): Arg => ({ name: 'bookmark', kind: 'bookmark', value: '', outOfRange: (r) => r.pick(['\u0000', '\u0000emr.', '\u0000emr.consent\u0000', '\u0000emr.patient\u0000', '\u0000emr.record\u0000', ' ', '!']) });
export const page = (): Arg[] => [pageSize(), bookmark()];

/** fabric-shim's composite key (an object type and attributes, each closed by U+0000). */
export const compositeKey = (objectType: string, attributes: string[]): string => `\u0000${objectType}\u0000${attributes.map((a) => `${a}\u0000`).join('')}`;

export const json = (name: string, value: Record<string, unknown>, fields: Record<string, Field>): Arg => ({ name, kind: 'json', value, fields });
export const int = (min: number, max: number): Field => ({ kind: 'int', outOfRange: (r) => r.pick([min - 1, max + 1, -1, 1.5, 2 ** 53, 1e308, min - 1000]) });
export const time: Field = { kind: 'time', outOfRange: outOfRangeTime };
