/**
 * Malformed calls to every transaction of @emr/protocol's table (TRANSACTIONS), each with one
 * defect of one input class and the refusal that defect must get: the chaincode's code and,
 * where the defect is one field, the field it names. The generic classes change the base
 * call's arguments one at a time (chaincode-specs.ts has the bases and the calls only some
 * transactions have).
 */
import { PERMISSIONS } from '../../../chaincode/src/access';
import { TRANSACTIONS, type Role, type TransactionName } from '@emr/protocol';
import { ACCESS_DENIED, DUPLICATE_TRANSACTION, INPUT_CLASSES, invalid, unauthorized, type Arg, type Base, type CallParts, type ChaincodeCall, type Context, type Expected, type Field, type InputClass, type Spec } from './chaincode-shapes';
import { SPECS } from './chaincode-specs';
import { hugeString, unicodeVariant, wrongTypeJson, wrongTypeText, type Kind } from './values';

export { INPUT_CLASSES, type ChaincodeCall, type Context, type InputClass } from './chaincode-shapes';

const UNKNOWN_FIELDS = ['extra', 'isAdmin', 'owner', '__proto__', 'constructor', 'RecordId', ' recordId', 'role', 'mspId2'];
const NON_OBJECT_JSON = ['[]', '"text"', '42', 'null', 'true', '{', '', '{"a":1', 'undefined', '[{}]'];
const STRING_KINDS: readonly Kind[] = ['id', 'entryId', 'pseudonym', 'mspId', 'enrollmentId', 'purpose', 'signature', 'endpoint', 'pageSize', 'bookmark', 'decimal', 'category', 'recordType', 'time', 'base64url', 'hex64', 'cid'];

const encodeArgs = (args: Arg[]) => args.map((a) => (a.kind === 'json' ? JSON.stringify(a.value) : a.value));
const transientOf = (base: Base) => (base.transient ? { [base.transient.name]: base.transient.value } : undefined);

/** The base call with its arguments replaced. */
function withArgs(base: Base, args: string[], what: string, expect: Expected, transient = transientOf(base)): CallParts {
  return { caller: base.caller, args, ...(transient ? { transient } : {}), ...(base.ownOrg ? { ownOrg: true } : {}), what, expect };
}

/** The base with one argument (or one of its JSON fields) replaced. */
function replaceArg(base: Base, index: number, text: string, what: string, expect: Expected): CallParts {
  const args = encodeArgs(base.args);
  args[index] = text;
  return withArgs(base, args, what, expect);
}
function replaceField(base: Base, index: number, field: string, value: unknown, what: string, expect: Expected): CallParts {
  const arg = base.args[index] as Extract<Arg, { kind: 'json' }>;
  const obj: Record<string, unknown> = { ...arg.value };
  if (value === undefined) delete obj[field];
  else Object.defineProperty(obj, field, { value, enumerable: true, configurable: true, writable: true }); // '__proto__' as an own field
  return replaceArg(base, index, JSON.stringify(obj), what, expect);
}

type Slot = { index: number; arg: Arg; field?: string; spec?: Field };
/** Every positional argument, and every field of a JSON argument. */
function slots(base: Base): Slot[] {
  return base.args.flatMap((arg, index): Slot[] => (arg.kind === 'json' ? Object.entries(arg.fields).map(([field, spec]) => ({ index, arg, field, spec })) : [{ index, arg }]));
}
const slotKind = (s: Slot): Kind => (s.spec ? s.spec.kind : (s.arg.kind as Kind));
const refusedAs = (s: Slot): Expected => invalid(...(s.field ? (s.spec?.refusedAs ?? [s.field]) : [s.arg.name]));
const currentValue = (s: Slot): string => {
  const v = s.field ? (s.arg as Extract<Arg, { kind: 'json' }>).value[s.field] : s.arg.value;
  return typeof v === 'string' ? v : JSON.stringify(v ?? '');
};

type Mutator = (c: Context, base: Base) => CallParts | undefined;

/** The generic input classes: each makes one defect in the base, or says it does not apply (undefined). */
const GENERIC: Partial<Record<InputClass, Mutator>> = {
  'wrong-type': (c, base) => {
    const all = slots(base);
    if (base.transient?.kind === 'json' && (all.length === 0 || c.r.chance(0.3))) {
      return withArgs(base, encodeArgs(base.args), `transient ${base.transient.name} is not a JSON object`, invalid(base.transient.name), { [base.transient.name]: c.r.pick(NON_OBJECT_JSON.filter(Boolean)) });
    }
    if (all.length === 0) return undefined;
    const s = c.r.pick(all);
    if (s.arg.kind === 'json' && (!s.field || c.r.chance(0.25))) return replaceArg(base, s.index, c.r.pick(NON_OBJECT_JSON), `${s.arg.name} is not a JSON object`, invalid(s.arg.name));
    if (s.field) return replaceField(base, s.index, s.field, wrongTypeJson(slotKind(s), c.r), `${s.field} of another JSON type`, refusedAs(s));
    return replaceArg(base, s.index, wrongTypeText(slotKind(s), c.r), `${s.arg.name} of another type`, refusedAs(s));
  },
  'missing-field': (c, base) => {
    const required = slots(base).filter((s) => s.field && !s.spec!.optional);
    const options = [...(required.length ? ['field'] : []), ...(base.transient ? ['transient'] : []), ...(base.args.length ? ['argument'] : [])];
    if (options.length === 0) return undefined;
    switch (c.r.pick(options)) {
      case 'field': {
        const s = c.r.pick(required);
        return replaceField(base, s.index, s.field!, undefined, `${s.field} missing`, refusedAs(s));
      }
      case 'transient':
        return withArgs(base, encodeArgs(base.args), `transient ${base.transient!.name} missing`, invalid(base.transient!.name), {});
      default:
        return withArgs(base, encodeArgs(base.args).slice(0, -1), 'the last argument missing', invalid('arguments'));
    }
  },
  'extra-field': (c, base) => {
    const json = base.args.findIndex((a) => a.kind === 'json');
    if (json >= 0 && c.r.chance(0.6)) {
      const name = c.r.pick(UNKNOWN_FIELDS);
      return replaceField(base, json, name, c.r.pick<unknown>([true, 'admin', 1, null, {}]), `unknown field '${name}'`, invalid(name));
    }
    return withArgs(base, [...encodeArgs(base.args), c.r.pick(['', 'extra', '{}', '1'])], 'an argument too many', invalid('arguments'));
  },
  'huge-string': (c, base) => {
    const strings = slots(base).filter((s) => STRING_KINDS.includes(slotKind(s)));
    if (base.transient && (strings.length === 0 || c.r.chance(0.3))) {
      const huge = base.transient.kind === 'json' ? JSON.stringify({ ward: hugeString(c.r) }) : hugeString(c.r);
      return withArgs(base, encodeArgs(base.args), `transient ${base.transient.name} of ${huge.length} characters`, invalid(base.transient.name), { [base.transient.name]: huge });
    }
    if (strings.length === 0) return undefined;
    const s = c.r.pick(strings);
    const huge = hugeString(c.r);
    const what = `${s.field ?? s.arg.name} of ${huge.length} characters`;
    return s.field ? replaceField(base, s.index, s.field, huge, what, refusedAs(s)) : replaceArg(base, s.index, huge, what, refusedAs(s));
  },
  unicode: (c, base) => {
    const strings = slots(base).filter((s) => STRING_KINDS.includes(slotKind(s)));
    if (strings.length === 0) return undefined;
    const s = c.r.pick(strings);
    const value = unicodeVariant(currentValue(s), c.r);
    const what = `${s.field ?? s.arg.name} with ${JSON.stringify(value).slice(0, 80)}`;
    return s.field ? replaceField(base, s.index, s.field, value, what, refusedAs(s)) : replaceArg(base, s.index, value, what, refusedAs(s));
  },
  'out-of-range': (c, base) => {
    const ranged = slots(base).filter((s) => (s.spec ? s.spec.outOfRange : s.arg.kind !== 'json' && s.arg.outOfRange));
    if (base.transient?.outOfRange && (ranged.length === 0 || c.r.chance(0.3))) {
      return withArgs(base, encodeArgs(base.args), `transient ${base.transient.name} out of range`, invalid(base.transient.name), { [base.transient.name]: base.transient.outOfRange(c.r) });
    }
    if (ranged.length === 0) return undefined;
    const s = c.r.pick(ranged);
    if (s.field) {
      const value = s.spec!.outOfRange!(c.r);
      return replaceField(base, s.index, s.field, value, `${s.field} = ${JSON.stringify(value)}`, refusedAs(s));
    }
    const value = (s.arg as Extract<Arg, { outOfRange?: unknown; kind: Exclude<Kind, 'int' | 'object' | 'array'> }>).outOfRange!(c.r);
    return replaceArg(base, s.index, value, `${s.arg.name} = ${JSON.stringify(value)}`, refusedAs(s));
  },
  'wrong-role': (c, base) => {
    const allowed: readonly Role[] = PERMISSIONS[c.transaction];
    const others = c.identities.filter((i) => !allowed.includes(i.role));
    if (others.length === 0) return undefined;
    const caller = c.r.pick(others);
    return { ...withArgs(base, encodeArgs(base.args), `a ${caller.role} calls it`, unauthorized()), caller: { org: caller.org, user: caller.user } };
  },
};

/** One call of one class to one transaction, or undefined when the class does not apply to it. */
export function malformedCall(transaction: TransactionName, inputClass: InputClass, c: Context): ChaincodeCall | undefined {
  const spec = SPECS[transaction];
  const base = spec.base(c);
  let partial: CallParts | undefined;
  if (inputClass === 'other-patient') partial = spec.otherPatient?.(c, base);
  else if (inputClass === 'replayed-signature') partial = replayed(transaction, spec, c, base);
  else if (inputClass === 'out-of-range') {
    const generic = GENERIC['out-of-range']!(c, base);
    partial = spec.outOfRange && (!generic || c.r.chance(0.5)) ? spec.outOfRange(c, base) : generic;
  } else partial = GENERIC[inputClass]!(c, base);
  return partial && { transaction, inputClass, ...partial };
}

/** A signature replayed: a committed proposal sent again, another proposal's signature, or (in the arguments) another record's. */
function replayed(transaction: TransactionName, spec: Spec, c: Context, base: Base): CallParts {
  const kept = c.w.kept.filter((k) => k.transaction === transaction);
  const choice = c.r.int(0, 2);
  if (choice === 0 && kept.length > 0) {
    const k = c.r.pick(kept);
    return { caller: k.caller, args: [], replay: k.bytes, what: 'a committed proposal sent again', expect: { code: DUPLICATE_TRANSACTION } };
  }
  if (choice === 1 && spec.replayedSignature) return spec.replayedSignature(c, base);
  return { ...withArgs(base, encodeArgs(base.args), "signed with the caller's signature of another proposal", { code: ACCESS_DENIED }), foreignSignature: true };
}

/** Which classes apply to a transaction (one draw tells: whether one applies depends on the base's shape, not its values). */
export function applicableClasses(transaction: TransactionName, c: Context): InputClass[] {
  return INPUT_CLASSES.filter((k) => malformedCall(transaction, k, c) !== undefined);
}

export const ALL_TRANSACTIONS = Object.keys(TRANSACTIONS) as TransactionName[];
