/**
 * Invalid values by the kind of argument they stand in for. Every value a pool returns breaks
 * the rule of its kind (protocol/src/ids.ts, the chaincode's parsers), so a call carrying it
 * must be refused whatever else it carries. Where a value only looks wrong to a strict
 * parser (`0x10` as a page size, `2026-02-30` as a date), the chaincode is strict.
 */
import type { Random } from './random';

/** What a positional argument or a JSON field is. */
export type Kind =
  | 'id' // record, consent, grant, break-glass, bench key: [A-Za-z0-9][A-Za-z0-9._-]{0,127}
  | 'entryId' // [A-Za-z0-9._-]{1,160}
  | 'pseudonym' // 64 lowercase hex
  | 'mspId'
  | 'enrollmentId'
  | 'purpose'
  | 'signature' // base64url, 40-200 characters
  | 'endpoint'
  | 'pageSize' // decimal 1..100
  | 'bookmark' // '' or a key inside the list's own range
  | 'decimal' // a positional count: digits only
  | 'category'
  | 'recordType'
  | 'time' // ISO-8601 with a zone
  | 'text' // free text: only its size can be wrong
  | 'base64url'
  | 'hex64'
  | 'cid'
  | 'int' // a JSON number field
  | 'object'
  | 'array';

/** Values of another type, as they travel (a positional argument is text, a JSON field any JSON). */
const WRONG_TYPE_TEXT: Partial<Record<Kind, readonly string[]>> = {
  id: ['', '{"id":"x"}', '["a"]', '-1', '_x', ' x', 'x y'],
  entryId: ['', '{"entryId":"x"}', '["a"]', ' x', 'a/b', 'a:b'],
  pseudonym: ['', '{"pseudonym":"x"}', '[]', '0x00', 'null'],
  mspId: ['', '{"mspId":"x"}', '[]', '-x', 'a_b', 'a b'],
  enrollmentId: ['', '{"id":"x"}', '[]', '-x', 'a b', 'a/b'],
  purpose: ['', 'Research', 'TREAT', '{"purpose":"research"}', '["research"]', '1'],
  signature: ['', 'short', '{"signature":"x"}', `${'A'.repeat(40)}==`, `${'A'.repeat(40)}+/`],
  endpoint: ['', 'ftp://127.0.0.1:7300', 'http://127.0.0.1', '{"endpoint":"x"}', '127.0.0.1:7300'],
  pageSize: ['', 'abc', '1.5', '{}', 'true', '0x10', ' 5', '5 ', '1e1', '+5', '05.0'],
  decimal: ['', 'abc', '1.5', '{}', 'true', '0x10', ' 5', '1e1', '+5', '-0'],
  bookmark: ['{"bookmark":1}', '[]', 'null', 'abc'],
};

/** JSON values of a type the field does not have. */
export function wrongTypeJson(kind: Kind, r: Random): unknown {
  switch (kind) {
    case 'int':
      return r.pick<unknown>(['1', true, null, [], {}, 1.5, '10']);
    case 'object':
      return r.pick<unknown>(['{}', 1, true, null, [], 'object']);
    case 'array':
      return r.pick<unknown>(['[]', 1, true, null, {}, 'a,b']);
    case 'recordType':
      return r.pick<unknown>([1, true, null, [], {}, 'Sharable', 'SHARABLE']);
    default:
      return r.pick<unknown>([1, 0, -1, true, false, null, [], {}, ['x'], { value: 'x' }]);
  }
}

export function wrongTypeText(kind: Kind, r: Random): string {
  const pool = WRONG_TYPE_TEXT[kind];
  if (!pool) throw new Error(`no wrong-type text for ${kind}`);
  return r.pick(pool);
}

/**
 * A string over every limit (the largest is 16 KiB, a fragment report's capsule): 20 KiB to
 * 1 MiB, mostly small so a run stays fast.
 */
export function hugeString(r: Random): string {
  const size = r.chance(0.9) ? r.int(20 * 1024, 96 * 1024) : r.int(256 * 1024, 1024 * 1024);
  return r.pick(['x', 'A', '9', 'é', '\u{1F489}']).repeat(size);
}

/** Unicode that no ASCII-only rule admits: homoglyphs, invisible and control characters, surrogates. */
const UNICODE_EDGES = [
  '\u0430', // Cyrillic a, looks like Latin a
  '\u0435', // Cyrillic e
  'e\u0301', // e + combining acute
  '\u200b', // zero-width space
  '\u200d', // zero-width joiner
  '\u202e', // right-to-left override
  '\ufeff', // byte order mark
  '\u0000', // NUL: the composite-key separator
  '\u{10ffff}', // the last code point: the end of every composite-key range
  '\ud800', // a lone surrogate (sent as U+FFFD)
  '\uff21', // fullwidth A
  '\uff15', // fullwidth 5
  '\u{1f489}', // an emoji
  '\u00a0', // no-break space
  '\u2028', // line separator
];

/** `valid` with one unicode edge character inserted or substituted: invalid for every ASCII-only kind. */
export function unicodeVariant(valid: string, r: Random): string {
  const edge = r.pick(UNICODE_EDGES);
  const at = r.int(0, valid.length);
  return r.chance(0.5) || valid.length === 0 ? `${valid.slice(0, at)}${edge}${valid.slice(at)}` : `${valid.slice(0, Math.min(at, valid.length - 1))}${edge}${valid.slice(Math.min(at, valid.length - 1) + 1)}`;
}

/** Page sizes outside 1..100. */
export const outOfRangePageSize = (r: Random): string => r.pick(['0', '101', '1000', '-1', '9007199254740993', '1e309', '00', '100000000000000000000']);

/** Times a strict ISO-8601 parser refuses: impossible dates and hours, no zone, a zone out of range, years out of range. */
export const outOfRangeTime = (r: Random): string =>
  r.pick([
    '2026-02-30T00:00:00Z',
    '2025-02-29T12:00:00Z',
    '2026-04-31T00:00:00.000Z',
    '2026-13-01T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-01T25:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T12:60:00Z',
    '2026-01-01T12:00:61Z',
    '2026-01-01T00:00:00+99:00',
    '2026-01-01T00:00:00', // no zone: local time, endorsers could disagree
    '2026-01-01',
    '+275761-01-01T00:00:00Z',
    '2026-01-01T00:00:00ZZ',
    '2026-1-1T00:00:00Z',
  ]);
