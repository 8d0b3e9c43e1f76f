/**
 * The key centres' DKG board (protocol types/dkg.ts): the chain as the broadcast channel.
 * A phase is closed once t centres voted for it. A centre's message of phase p is its vote
 * to close p − 1 (it saw what it needed of p − 1), and it enters only while p is not closed;
 * a centre that waited out a silent one votes on its own (CloseDkgPhase). A post reads the
 * votes of its phase and a vote writes its own key without reading anyone else's, so votes
 * never conflict with each other, and Fabric's validation orders a post after a vote that
 * closed its phase: it is invalid. Every centre that reads a closed phase reads the same
 * messages. The chain checks shapes and who speaks for which index; the centres check the
 * mathematics, each on the same data.
 */
import {
  ChaincodeError,
  DKG_FAULTS,
  DKG_PHASES,
  ErrorCode,
  checkDkgId,
  encodeParty,
  invalid,
  type Caller,
  type DkgBoard,
  type DkgBody,
  type DkgMessage,
  type DkgMessageInput,
  type DkgPhase,
} from '@emr/protocol';
import { encode, isObject, parseJsonObject, readJson, rejectUnknownFields, type StateStore, type TxContext } from './ledger';

const DKG = 'emr.dkg';
const MEMBER = 'emr.dkg~member';
const HOLDER = 'emr.dkg~holder';
const MESSAGE = 'emr.dkg~message';
const VOTE = 'emr.dkg~vote';
const MAX_CENTRES = 32;
const POINT = /^[A-Za-z0-9_-]{64}$/;
const HEX_SCALAR = /^[0-9a-f]{1,64}$/;

interface DkgRecord {
  dkgId: string;
  n: number;
  threshold: number;
  createdAt: string;
  txId: string;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(field, `must be an integer from ${min} to ${max}`);
  return v;
}

function list(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw invalid(field, `must be an array of at most ${max} items`);
  return v;
}

function points(v: unknown, field: string, count: number): string[] {
  if (!Array.isArray(v) || v.length !== count || !v.every((p) => typeof p === 'string' && POINT.test(p))) throw invalid(field, `must list ${count} base64url compressed G1 points`);
  return v as string[];
}

/** Distinct indices 1..n in increasing order. */
function indices(v: unknown, field: string, n: number): number[] {
  const items = list(v, field, n);
  items.forEach((x, i) => int(x, `${field}[${i}]`, 1, n));
  if (items.some((x, i) => i > 0 && (x as number) <= (items[i - 1] as number))) throw invalid(field, 'must be distinct and in increasing order');
  return items as number[];
}

/** Revealed shares keyed by `key` (the complainer or the dealer), each once. */
function revealed<K extends 'to' | 'dealer'>(v: unknown, field: string, key: K, n: number): ({ [P in K]: number } & { s: string; b: string })[] {
  const items = list(v, field, n).map((raw, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(raw)) throw invalid(at, `must be {${key}, s, b}`);
    rejectUnknownFields(raw, [key, 's', 'b'], `${at}.`);
    for (const part of ['s', 'b'] as const) if (typeof raw[part] !== 'string' || !HEX_SCALAR.test(raw[part] as string)) throw invalid(`${at}.${part}`, 'must be a scalar in lowercase hex');
    return { [key]: int(raw[key], `${at}.${key}`, 1, n), s: raw.s as string, b: raw.b as string } as { [P in K]: number } & { s: string; b: string };
  });
  if (new Set(items.map((x) => x[key])).size !== items.length) throw invalid(field, `must name each ${key} once`);
  return items;
}

function parseBody(raw: unknown, n: number, threshold: number): DkgBody {
  if (!isObject(raw)) throw invalid('body', 'must be an object with a phase');
  const phase = raw.phase as DkgPhase;
  const only = (...fields: string[]) => rejectUnknownFields(raw, ['phase', ...fields], 'body.');
  switch (phase) {
    case 'commitments':
      only('pedersen');
      return { phase, pedersen: points(raw.pedersen, 'body.pedersen', threshold) };
    case 'complaints':
      only('against');
      return { phase, against: indices(raw.against, 'body.against', n) };
    case 'answers':
      only('answers');
      return { phase, answers: revealed(raw.answers, 'body.answers', 'to', n) };
    case 'feldman':
      only('commitments');
      return { phase, commitments: points(raw.commitments, 'body.commitments', threshold) };
    case 'feldman-complaints':
      only('against');
      return { phase, against: revealed(raw.against, 'body.against', 'dealer', n) };
    case 'reveals':
      only('shares');
      return { phase, shares: revealed(raw.shares, 'body.shares', 'dealer', n) };
    case 'outcome': {
      only('mpk', 'qual', 'faults');
      if (typeof raw.mpk !== 'string' || !POINT.test(raw.mpk)) throw invalid('body.mpk', 'must be a base64url compressed G1 point');
      const faults = list(raw.faults, 'body.faults', n).map((f, i) => {
        if (!isObject(f)) throw invalid(`body.faults[${i}]`, 'must be {index, fault}');
        rejectUnknownFields(f, ['index', 'fault'], `body.faults[${i}].`);
        if (!(DKG_FAULTS as readonly unknown[]).includes(f.fault)) throw invalid(`body.faults[${i}].fault`, `must be one of ${DKG_FAULTS.join(', ')}`);
        return { index: int(f.index, `body.faults[${i}].index`, 1, n), fault: f.fault as (typeof DKG_FAULTS)[number] };
      });
      return { phase, mpk: raw.mpk, qual: indices(raw.qual, 'body.qual', n), faults };
    }
    default:
      throw invalid('body.phase', `must be one of ${DKG_PHASES.join(', ')}`);
  }
}

export function parseDkgMessage(json: string): DkgMessageInput {
  const raw = parseJsonObject(json, 'message');
  rejectUnknownFields(raw, ['dkgId', 'n', 'threshold', 'index', 'body']);
  const dkgId = checkDkgId(typeof raw.dkgId === 'string' ? raw.dkgId : '');
  const n = int(raw.n, 'n', 1, MAX_CENTRES);
  const threshold = int(raw.threshold, 'threshold', 1, n);
  const index = int(raw.index, 'index', 1, n);
  return { dkgId, n, threshold, index, body: parseBody(raw.body, n, threshold) };
}

export function checkDkgPhase(phase: string): DkgPhase {
  if (!(DKG_PHASES as readonly string[]).includes(phase)) throw invalid('phase', `must be one of ${DKG_PHASES.join(', ')}`);
  return phase as DkgPhase;
}

const ordinal = (phase: DkgPhase) => String(DKG_PHASES.indexOf(phase)).padStart(2, '0');

export class DkgBoardStore {
  constructor(private readonly state: StateStore) {}

  private record(dkgId: string): Promise<DkgRecord | undefined> {
    return readJson<DkgRecord>(this.state, DKG, [dkgId]);
  }

  private async require(dkgId: string): Promise<DkgRecord> {
    const rec = await this.record(dkgId);
    if (!rec) throw new ChaincodeError(ErrorCode.NotFound, `DKG '${dkgId}' has no message yet`, 'dkgId');
    return rec;
  }

  private async member(dkgId: string, index: number): Promise<string> {
    return Buffer.from(await this.state.getState(this.state.createCompositeKey(MEMBER, [dkgId, String(index)]))).toString('utf8');
  }

  /**
   * The caller's message of phase p, while p is not closed; it votes to close p − 1. Its
   * first message claims its index for this DKG.
   */
  async post(input: DkgMessageInput, caller: Caller, tx: TxContext): Promise<DkgMessage> {
    const { dkgId, n, threshold, index } = input;
    let rec = await this.record(dkgId);
    if (!rec) {
      rec = { dkgId, n, threshold, createdAt: tx.timestamp.toISOString(), txId: tx.txId };
      await this.state.putState(this.state.createCompositeKey(DKG, [dkgId]), encode(rec));
    }
    if (rec.n !== n || rec.threshold !== threshold) throw invalid('n', `DKG '${dkgId}' runs with n = ${rec.n}, t = ${rec.threshold}`);
    const phase = input.body.phase;
    const me = encodeParty(caller);
    const holder = await this.member(dkgId, index);
    if (holder && holder !== me) throw new ChaincodeError(ErrorCode.Unauthorized, `index ${index} of DKG '${dkgId}' is held by ${holder}`, 'index');
    if (!holder) {
      const held = Buffer.from(await this.state.getState(this.state.createCompositeKey(HOLDER, [dkgId, me]))).toString('utf8');
      if (held) throw new ChaincodeError(ErrorCode.Unauthorized, `${me} holds index ${held} of DKG '${dkgId}'`, 'index');
      await this.state.putState(this.state.createCompositeKey(MEMBER, [dkgId, String(index)]), Buffer.from(me, 'utf8'));
      await this.state.putState(this.state.createCompositeKey(HOLDER, [dkgId, me]), Buffer.from(String(index), 'utf8'));
    }
    if (phase !== 'outcome' && (await this.votes(rec, phase)).length >= rec.threshold) throw new ChaincodeError(ErrorCode.Conflict, `phase '${phase}' of DKG '${dkgId}' is closed`, 'body.phase');
    const key = this.state.createCompositeKey(MESSAGE, [dkgId, ordinal(phase), String(index).padStart(2, '0')]);
    if ((await this.state.getState(key)).length > 0) throw new ChaincodeError(ErrorCode.Conflict, `centre ${index} already posted its '${phase}' message`, 'index');
    const previous = DKG_PHASES[DKG_PHASES.indexOf(phase) - 1];
    if (previous) await this.vote(dkgId, previous, index, tx);
    const message: DkgMessage = { ...input, sender: { mspId: caller.mspId, enrollmentId: caller.enrollmentId }, postedAt: tx.timestamp.toISOString(), txId: tx.txId };
    await this.state.putState(key, encode(message));
    return message;
  }

  /** The caller's vote to close `phase` (after waiting out a silent centre): t votes close it. */
  async close(dkgId: string, phase: DkgPhase, index: number, caller: Caller, tx: TxContext): Promise<{ phase: DkgPhase; voted: boolean }> {
    const rec = await this.require(dkgId);
    if (index < 1 || index > rec.n) throw invalid('index', `must be an integer from 1 to ${rec.n}`);
    if ((await this.member(dkgId, index)) !== encodeParty(caller)) throw new ChaincodeError(ErrorCode.Unauthorized, `${encodeParty(caller)} does not hold index ${index} of DKG '${dkgId}'`, 'index');
    if (phase === 'outcome') throw invalid('phase', "'outcome' is the last phase: it is never closed");
    await this.vote(dkgId, phase, index, tx);
    return { phase, voted: true };
  }

  /** The voter's own key, once: a vote reads no one else's, so votes never conflict. */
  private async vote(dkgId: string, phase: DkgPhase, index: number, tx: TxContext): Promise<void> {
    const key = this.state.createCompositeKey(VOTE, [dkgId, phase, String(index)]);
    if ((await this.state.getState(key)).length === 0) await this.state.putState(key, Buffer.from(tx.txId, 'utf8'));
  }

  private async votes(rec: DkgRecord, phase: DkgPhase): Promise<number[]> {
    const keys = Array.from({ length: rec.n }, (_, i) => this.state.createCompositeKey(VOTE, [rec.dkgId, phase, String(i + 1)]));
    await this.state.prefetch(keys);
    const voted: number[] = [];
    for (const [i, key] of keys.entries()) if ((await this.state.getState(key)).length > 0) voted.push(i + 1);
    return voted;
  }

  /** The board: the closed phases and every message so far, in phase and index order. */
  async read(dkgId: string): Promise<DkgBoard> {
    const rec = await this.require(dkgId);
    const messages: DkgMessage[] = [];
    let bookmark = '';
    do {
      const page = await this.state.getStateByPartialCompositeKeyWithPagination(MESSAGE, [dkgId], 100, bookmark);
      try {
        for (let r = await page.iterator.next(); !r.done && r.value; r = await page.iterator.next()) messages.push(JSON.parse(Buffer.from(r.value.value).toString('utf8')) as DkgMessage);
      } finally {
        await page.iterator.close();
      }
      bookmark = page.metadata.fetchedRecordsCount < 100 ? '' : page.metadata.bookmark;
    } while (bookmark);
    const closed: DkgPhase[] = [];
    for (const phase of DKG_PHASES.slice(0, -1)) if ((await this.votes(rec, phase)).length >= rec.threshold) closed.push(phase);
    return { dkgId, n: rec.n, threshold: rec.threshold, closed, messages };
  }
}
