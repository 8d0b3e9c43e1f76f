/**
 * The roles of a DRKPBFT node, each on its own (drkpbft/node.ts wires them): the shape and
 * epochs, the global log, the region role, the top seat and the request intake. Every role
 * gets a node environment whose clock the test moves and whose outbox it reads.
 */
import { requestKey } from '../../../consensus-plugin/src/core/digest';
import { ExecutedRequests } from '../../../consensus-plugin/src/core/executed';
import { simAuthenticator } from '../../../consensus-plugin/src/core/sim-auth';
import type { ClientRequest, ClusterOptions, NodeId, Outbound } from '../../../consensus-plugin/src/core/types';
import { entryRef, homeRegion, orderGroup, regionDigest, regionGroup, topDigest, topGroup, type CertifiedBatch, type RegionBatch, type TopEntry, type TopEntryRef } from '../../../consensus-plugin/src/drkpbft/batches';
import { DrkContext } from '../../../consensus-plugin/src/drkpbft/context';
import { Outbox, type NodeEnv } from '../../../consensus-plugin/src/drkpbft/env';
import { Epochs } from '../../../consensus-plugin/src/drkpbft/epochs';
import { GlobalLog, LOG_PAGE } from '../../../consensus-plugin/src/drkpbft/global-log';
import { Intake } from '../../../consensus-plugin/src/drkpbft/intake';
import { signOwn, type BatchFetchMessage, type DrkMessage, type LogEntry, type LogFetchMessage } from '../../../consensus-plugin/src/drkpbft/messages';
import { RegionRole } from '../../../consensus-plugin/src/drkpbft/region';
import { TopSeat } from '../../../consensus-plugin/src/drkpbft/top-seat';
import type { Decision } from '../../../consensus-plugin/src/pbft/instance';
import { sign, type CommitMessage, type PrePrepareMessage } from '../../../consensus-plugin/src/pbft/messages';

const SEED = 'drkpbft-roles';
const OPTIONS: ClusterOptions = { batchSize: 4, batchTimeoutTicks: 1, requestTimeoutTicks: 20, checkpointInterval: 8 };

const ids = (n: number): NodeId[] => [...Array(n).keys()];

/** Nodes in zones of 4 consecutive ids: 16 nodes form regions {0–3}, {4–7}, {8–11}, {12–15}, each led by its lowest id. */
const zoned = (n: number): number[][] =>
  Array.from({ length: n }, (_, a) => Array.from({ length: n }, (_, b) => (a === b ? 0 : Math.floor(a / 4) === Math.floor(b / 4) ? 1 : 20)));

let counter = 0;
const request = (client = 'c0'): ClientRequest => {
  counter++;
  return { client, timestamp: counter, operation: `op ${counter}` };
};

/** A request of `client` whose home is `region` of 4. */
function homedIn(region: number, client = 'c0'): ClientRequest {
  for (;;) {
    const r = request(client);
    if (homeRegion(requestKey(r), 4) === region) return r;
  }
}

/** One node's environment (clock and outbox in the test's hands) and its epochs, in the genesis structure's first term. */
class Node {
  clock = 0;
  readonly out = new Outbox<string>();
  readonly env: NodeEnv;
  readonly epochs: Epochs;
  private taken: Outbound<DrkMessage>[] = [];

  constructor(
    readonly id: NodeId,
    n: number,
    forwardDelayTicks?: number,
  ) {
    const ctx = new DrkContext(ids(n), { ...OPTIONS, latency: zoned(n), ...(forwardDelayTicks === undefined ? {} : { forwardDelayTicks }) });
    this.env = { id, auth: simAuthenticator(id, SEED), ctx, out: this.out, now: () => this.clock };
    this.epochs = new Epochs(this.env);
    this.epochs.enterStructure(true);
    this.epochs.enterTerm(true);
  }

  /** Messages sent since the last call, optionally of one type. */
  sent(type?: DrkMessage['type']): Outbound<DrkMessage>[] {
    const ready = this.out.take(() => 'state');
    this.taken = ready.messages;
    return type === undefined ? this.taken : this.taken.filter((m) => m.message.type === type);
  }
}

/** `signers`' region commits for `batch` at (view 0, `regionSeq`) of `region` in epoch 0. */
const regionCertificate = (region: number, regionSeq: number, batch: RegionBatch, signers: NodeId[]): CommitMessage[] =>
  signers.map((id) =>
    sign<CommitMessage>({ type: 'commit', group: regionGroup(0, region), view: 0, seq: regionSeq, digest: regionDigest(batch), sender: id }, simAuthenticator(id, SEED)),
  );

const certifiedBy = (region: number, regionSeq: number, signers: NodeId[], batch: RegionBatch = { requests: [request()] }): CertifiedBatch => ({
  epoch: 0,
  region,
  regionSeq,
  view: 0,
  batch,
  certificate: regionCertificate(region, regionSeq, batch, signers),
});

describe('DRKPBFT roles: shape and epochs', () => {
  it('one region: no top layer, every request is the region’s, the log is the region’s order', () => {
    const { epochs } = new Node(1, 4);
    const shape = epochs.shape;
    const r = request();
    expect(shape.topLayer).toBe(false);
    expect(shape.homeOf(requestKey(r))).toBe(0);
    expect(shape.isHome(r)).toBe(true);
    expect(shape.regionGroup()).toBe(orderGroup(0, 0));
    expect(epochs.logGroup()).toBe(orderGroup(0, 0));
    expect(shape.logServers(epochs.seats)).toEqual([0, 1, 2, 3]);
    expect(shape.sitsAtTop(epochs.seats)).toBe(false);
    expect(shape.claimsSeat(1, epochs.seats)).toBe(false);
  });

  it('K regions: home regions, a top group of the seat holders, each telling its own region', () => {
    const member = new Node(5, 16).epochs;
    const holder = new Node(4, 16).epochs;
    expect(member.shape.topLayer).toBe(true);
    expect(member.shape.myRegion).toBe(1);
    const mine = homedIn(1);
    expect(member.shape.homeOf(requestKey(mine))).toBe(1);
    expect(member.shape.isHome(mine)).toBe(true);
    expect(member.shape.isHome(homedIn(2))).toBe(false);
    expect(member.shape.regionGroup()).toBe(regionGroup(0, 1));
    expect(member.logGroup()).toBe(topGroup(0, 0, 0));
    expect(member.holders()).toEqual([0, 4, 8, 12]);
    expect(member.shape.logServers(member.seats)).toEqual([0, 4, 8, 12]);
    expect(member.shape.sitsAtTop(member.seats)).toBe(false);
    expect(holder.shape.sitsAtTop(holder.seats)).toBe(true);
    expect(member.shape.decideAudience(true, member.seats)).toEqual([]);
    expect(holder.shape.decideAudience(false, holder.seats)).toEqual([4, 5, 6, 7]);
    // A new primary of region view 1 claims the seat it does not hold; the holder and view 0 do not.
    expect(member.shape.claimsSeat(1, member.seats)).toBe(true);
    expect(member.shape.claimsSeat(0, member.seats)).toBe(false);
    expect(holder.shape.claimsSeat(1, holder.seats)).toBe(false);
    expect(member.shape.topWindow()).toBe(2 * OPTIONS.checkpointInterval * 4);
  });

  it('a seat moves to the primary of a later region view; the primaries in between are deposed', () => {
    const { epochs } = new Node(0, 16);
    expect(epochs.moveSeat(1, 0)).toBe(false);
    expect(epochs.moveSeat(1, 2)).toBe(true);
    expect(epochs.seats[1]).toEqual({ holder: 6, view: 2 });
    expect(epochs.evidence.deposedLeaders).toEqual([4, 5]);
    expect(epochs.moveSeat(1, 1)).toBe(false);
    expect(epochs.seats[1]).toEqual({ holder: 6, view: 2 });
  });

  it('a term orders its top primaries by reputation, those deposed this epoch last', () => {
    const { epochs } = new Node(0, 16);
    expect(epochs.topOrder).toEqual([0, 4, 8, 12]);
    // A top entry decided in view 1: the primary of view 0 lost the lead.
    epochs.noteTopView(1);
    expect(epochs.evidence.deposedLeaders).toEqual([0]);
    epochs.enterTerm(false);
    expect(epochs.topOrder).toEqual([0, 4, 8, 12]);
    epochs.nextTerm(10);
    epochs.enterTerm(true);
    expect(epochs.term).toBe(1);
    expect(epochs.termStart).toBe(11);
    expect(epochs.topOrder).toEqual([4, 8, 12, 0]);
    expect(epochs.logGroup()).toBe(topGroup(0, 1, 10));
  });

  it('membership operations change the membership once each, in commit order', () => {
    const { epochs } = new Node(0, 16);
    expect(epochs.noteMembership('op 1')).toBe(false);
    expect(epochs.noteMembership('join:3')).toBe(false);
    expect(epochs.noteMembership('leave:3')).toBe(true);
    expect(epochs.noteMembership('leave:3')).toBe(false);
    expect(epochs.noteMembership('join:3')).toBe(true);
    expect(epochs.noteMembership('join:20')).toBe(true);
    expect(epochs.changes).toEqual([
      { kind: 'leave', node: 3 },
      { kind: 'join', node: 3 },
      { kind: 'join', node: 20 },
    ]);
  });

  it('an epoch without changes keeps the structure; a leave replaces it at the next position', () => {
    const { epochs } = new Node(0, 16);
    expect(epochs.endsAt(63)).toBe(false);
    expect(epochs.endsAt(64)).toBe(true);
    expect(epochs.nextEpoch(64)).toBe(false);
    expect(epochs.config.epoch).toBe(1);
    expect(epochs.epochStart).toBe(65);
    expect(epochs.structure.epoch).toBe(0);
    expect(epochs.isFuture(regionGroup(1, 0))).toBe(true);
    expect(epochs.isFuture(topGroup(0, 1, 64))).toBe(true);
    expect(epochs.isFuture(topGroup(0, 0, 0))).toBe(false);
    epochs.noteMembership('leave:15');
    expect(epochs.nextEpoch(70)).toBe(true);
    expect(epochs.structure).toBe(epochs.config);
    expect(epochs.structureStart).toBe(71);
    expect(epochs.term).toBe(0);
    expect(epochs.termStart).toBe(71);
    expect(epochs.changes).toEqual([]);
    epochs.enterStructure(true);
    // 15 nodes are too few for a top layer.
    expect(epochs.shape.topLayer).toBe(false);
    expect(epochs.seats).toHaveLength(1);
  });
});

describe('DRKPBFT roles: global log', () => {
  /** Node 1 of a single region of 4: the log executes region batches; `ran` lists the positions run. */
  function logged(): { node: Node; log: GlobalLog; ran: number[]; entry: (seq: number, requests: ClientRequest[]) => LogEntry } {
    const node = new Node(1, 4);
    const ran: number[] = [];
    const log: GlobalLog = new GlobalLog(node.env, node.epochs, undefined, (l) => {
      ran.push(l.entry.seq);
      log.record(l, (l.entry.payload as RegionBatch).requests, 0);
    });
    // Decided by voters 0, 2 and 3 (a quorum of 4): an entry a peer sends must prove itself.
    const entry = (seq: number, requests: ClientRequest[]): LogEntry => {
      const group = node.epochs.logGroup();
      const digest = regionDigest({ requests });
      const certificate = [0, 2, 3].map((id) => sign<CommitMessage>({ type: 'commit', group, view: 0, seq, digest, sender: id }, simAuthenticator(id, SEED)));
      return { group, entry: { seq, view: 0, digest, payload: { requests }, certificate } };
    };
    return { node, log, ran, entry };
  }

  it('executes positions in order: entries past a gap wait for it (and then prove themselves)', () => {
    const { node, log, ran, entry } = logged();
    const [a, b, c] = [request(), request(), request()];
    log.offer(entry(3, [c]), true);
    log.offer(entry(2, [b]), true);
    expect(ran).toEqual([]);
    log.offer(entry(1, [a]), true);
    expect(ran).toEqual([1, 2, 3]);
    expect(log.executedSeq).toBe(3);
    const commits = node.out.take(() => 'state').commits;
    expect(commits.map((x) => [x.seq, x.requests])).toEqual([
      [1, [a]],
      [2, [b]],
      [3, [c]],
    ]);
    log.offer(entry(2, [b]), true);
    expect(ran).toEqual([1, 2, 3]);
  });

  it('runs a request once however often the log holds it', () => {
    const { node, log, entry } = logged();
    const a = request();
    log.offer(entry(1, [a]), true);
    log.offer(entry(2, [a]), true);
    expect(node.out.take(() => 'state').commits.map((x) => x.requests)).toEqual([[a], []]);
    expect(log.executed.has(a)).toBe(true);
  });

  it('an entry from a peer executes only with a valid certificate of the group that orders the position', () => {
    const { log, ran, entry } = logged();
    const e = entry(1, [request()]);
    log.offer({ ...e, group: orderGroup(1, 0) }, true);
    log.offer({ ...e, entry: { ...e.entry, certificate: e.entry.certificate.slice(0, 2) } }, false);
    log.offer({ ...e, entry: { ...e.entry, payload: { requests: [request()] } } }, false);
    expect(ran).toEqual([]);
    log.offer(e, false);
    expect(ran).toEqual([1]);
    // Its own group's decisions are trusted as they are.
    log.offer({ ...entry(2, []), entry: { ...entry(2, []).entry, certificate: [] } }, true);
    expect(ran).toEqual([1, 2]);
  });

  it('reads an entry by the group that decided it: a region group’s decision is exactly its requests, as it runs, is kept and is served', () => {
    const { node, log, ran, entry } = logged();
    const [a, b, forged] = [request(), request(), request('mallory')];
    const dressed = (e: LogEntry): LogEntry => {
      const topFields = { skip: [], signers: [], batch: { epoch: 0, region: 0, regionSeq: e.entry.seq, view: 0, batch: { requests: [forged] }, certificate: [] } };
      return { ...e, entry: { ...e.entry, payload: { ...(e.entry.payload as RegionBatch), ...topFields } as RegionBatch } };
    };
    // From its own group, and from a peer (whose certificate is for the requests' digest).
    log.offer(dressed(entry(1, [a])), true);
    log.offer(dressed(entry(2, [b])), false);
    expect(ran).toEqual([1, 2]);
    expect(node.out.take(() => 'state').commits.map((x) => x.requests)).toEqual([[a], [b]]);
    log.serve(signOwn<LogFetchMessage>({ type: 'log-fetch', from: 1 }, simAuthenticator(3, SEED)));
    const [answer] = node.sent('log');
    expect(answer.message.type === 'log' && answer.message.entries.map((e) => e.entry.payload)).toEqual([{ requests: [a] }, { requests: [b] }]);
  });

  it('serves pages of the executed log, once a tick per asker', () => {
    const { node, log, entry } = logged();
    for (let seq = 1; seq <= LOG_PAGE + 2; seq++) log.offer(entry(seq, [request()]), true);
    node.sent();
    const fetch = (from: number, by: NodeId): LogFetchMessage => signOwn<LogFetchMessage>({ type: 'log-fetch', from }, simAuthenticator(by, SEED));
    log.serve(fetch(2, 3));
    const [answer] = node.sent('log');
    expect(answer.to).toBe(3);
    expect(answer.message.type === 'log' && answer.message.entries.map((e) => e.entry.seq)).toEqual(Array.from({ length: LOG_PAGE }, (_, i) => i + 2));
    log.serve(fetch(2, 3));
    expect(node.sent()).toEqual([]);
    log.serve(fetch(LOG_PAGE + 2, 0));
    expect(node.sent('log').map((m) => m.message.type === 'log' && m.message.entries.length)).toEqual([1]);
    node.clock++;
    log.serve(fetch(LOG_PAGE + 3, 3));
    expect(node.sent()).toEqual([]);
  });

  it('a node behind asks the log servers in turn, never itself, at most once a tick', () => {
    const { node, log } = logged();
    node.clock = 1;
    log.fetchIfBehind(true, false);
    log.fetchIfBehind(true, false);
    node.clock = 2;
    log.fetchIfBehind(true, false);
    const asked = node.sent('log-fetch');
    expect(asked.map((m) => m.to)).toEqual([0, 2]);
    expect(asked.every((m) => m.message.type === 'log-fetch' && m.message.from === 1)).toBe(true);
    // Not behind: nothing heard for less than the patience (half a request timeout).
    node.clock = 5;
    log.fetchIfBehind(false, true);
    expect(node.sent()).toEqual([]);
  });

  it('passes an executed entry on to others, never to itself', () => {
    const { node, log, entry } = logged();
    log.pass(entry(1, []), [0, 1, 3]);
    log.pass(entry(1, []), []);
    expect(node.sent('decide').map((m) => m.to)).toEqual([0, 3]);
  });
});

describe('DRKPBFT roles: region', () => {
  /** Node `id` of 16 in its region (4: region 1's primary, 5: a member), with a region instance. */
  function region(id: NodeId): { node: Node; role: RegionRole; executed: ExecutedRequests; pooled: CertifiedBatch[] } {
    const node = new Node(id, 16);
    const executed = new ExecutedRequests();
    const pooled: CertifiedBatch[] = [];
    const role = new RegionRole(node.env, node.epochs, executed, { absorb: (out) => node.out.emit(out.messages), pool: (b) => pooled.push(b) });
    role.enterStructure();
    return { node, role, executed, pooled };
  }

  const decision = (seq: number, requests: ClientRequest[]): Decision<RegionBatch> => ({
    seq,
    view: 0,
    digest: regionDigest({ requests }),
    payload: { requests },
    certificate: regionCertificate(1, seq, { requests }, [4, 5, 6]),
  });

  it('a voter runs its region’s instance, primary in view 0 only if it leads the region', () => {
    const { role } = region(5);
    expect(role.instance?.group).toBe(regionGroup(0, 1));
    expect(role.isPrimary).toBe(false);
    expect(region(4).role.isPrimary).toBe(true);
  });

  it('as primary, batches only its region’s requests: a full batch at once, a partial one after the batch timeout', () => {
    const { node, role, executed } = region(4);
    const mine = [homedIn(1), homedIn(1), homedIn(1)];
    const done = homedIn(1);
    executed.add(done);
    for (const r of [...mine, homedIn(2), done]) role.enqueue(r);
    role.batchQueued(false);
    node.clock = 1;
    role.batchQueued(false);
    expect(node.sent('pre-prepare')).toEqual([]);
    role.batchQueued(true);
    const proposals = node.sent('pre-prepare');
    expect(proposals.map((m) => m.to)).toEqual([5, 6, 7]);
    expect(proposals[0].message.type === 'pre-prepare' && (proposals[0].message.payload as RegionBatch).requests).toEqual(mine);
    // Batched requests are not queued again; four queued are proposed at once.
    role.enqueue(mine[0]);
    const four = [homedIn(1), homedIn(1), homedIn(1), homedIn(1)];
    for (const r of four) role.enqueue(r);
    role.batchQueued(false);
    const [full] = node.sent('pre-prepare');
    expect(full.message.type === 'pre-prepare' && (full.message.payload as RegionBatch).requests).toEqual(four);
  });

  it('a decided batch is certified, goes to every seat holder at the next tick (its own seat directly), and again after a request timeout until executed', () => {
    const { node, role, pooled } = region(4);
    const batch = role.certify(decision(1, [homedIn(1)]));
    expect(batch?.regionSeq).toBe(1);
    expect([...role.certified.keys()]).toEqual([1]);
    expect(node.sent('certified')).toEqual([]);
    role.sendDecided();
    expect(node.sent('certified').map((m) => m.to)).toEqual([0, 8, 12]);
    expect(pooled).toEqual([batch]);
    role.sendDecided();
    node.clock = OPTIONS.requestTimeoutTicks - 1;
    role.resendCertified();
    expect(node.sent('certified')).toEqual([]);
    node.clock = OPTIONS.requestTimeoutTicks;
    role.resendCertified();
    expect(node.sent('certified').map((m) => m.to)).toEqual([0, 8, 12]);
    role.batchExecuted(1);
    node.clock = 3 * OPTIONS.requestTimeoutTicks;
    role.resendCertified();
    expect(node.sent('certified')).toEqual([]);
    expect(role.certified.size).toBe(0);
  });

  it('a batch the log executed is not certified again; a member certifies but does not send', () => {
    const { node, role } = region(5);
    node.epochs.batchExecuted(1, 1);
    expect(role.certify(decision(1, [homedIn(1)]))).toBeUndefined();
    expect(role.certify(decision(2, [homedIn(1)]))?.regionSeq).toBe(2);
    role.sendDecided();
    expect(node.sent('certified')).toEqual([]);
  });

  it('in a new view, what is certified counts as batched: only the rest is pending', () => {
    const { role } = region(5);
    const [inBatch, loose] = [homedIn(1), homedIn(1)];
    role.certify(decision(1, [inBatch]));
    expect(role.newView([inBatch, loose])).toEqual([loose]);
    expect(role.isBatched(requestKey(inBatch))).toBe(true);
    expect(role.isBatched(requestKey(loose))).toBe(false);
  });

  it('restores its certified batches and drops them with the structure', () => {
    const node = new Node(5, 16);
    const kept = certifiedBy(1, 3, [4, 5, 6]);
    const role = new RegionRole(node.env, node.epochs, new ExecutedRequests(), { absorb: () => undefined, pool: () => undefined }, { certified: [kept] });
    expect([...role.certified.values()]).toEqual([kept]);
    role.drop();
    expect(role.certified.size).toBe(0);
    expect(role.state).toBeUndefined();
  });
});

describe('DRKPBFT roles: top seat', () => {
  /** Node `id` of 16 (0: the top primary, 4: a backup seat holder, 5: no seat) with its top seat. */
  function seat(id: NodeId): { node: Node; top: TopSeat; decided: LogEntry[] } {
    const node = new Node(id, 16);
    const decided: LogEntry[] = [];
    const top = new TopSeat(node.env, node.epochs, new ExecutedRequests(), (l) => decided.push(l));
    top.enterStructure();
    top.enterTerm();
    return { node, top, decided };
  }

  it('only a seat holder runs a top instance; a region primary about to claim a seat pools anyway', () => {
    expect(seat(4).top.instance?.group).toBe(topGroup(0, 0, 0));
    const { node, top } = seat(5);
    expect(top.instance).toBeUndefined();
    const claimed = certifiedBy(1, 2, [4, 5, 6]);
    top.pooled(certifiedBy(1, 1, [4, 5, 6]), false);
    top.pooled(claimed, true);
    // Node 5 takes region 1's seat (region view 1) and sits in the next term with what it pooled.
    node.epochs.moveSeat(1, 1);
    node.epochs.nextTerm(5);
    node.epochs.enterTerm(true);
    top.enterTerm();
    expect(top.instance?.group).toBe(topGroup(0, 1, 5));
    const fetch = (regionSeq: number): BatchFetchMessage => signOwn<BatchFetchMessage>({ type: 'batch-fetch', region: 1, regionSeq }, simAuthenticator(8, SEED));
    top.serveBatch(fetch(1));
    top.serveBatch(fetch(2));
    expect(node.sent('certified').map((m) => m.message.type === 'certified' && m.message.batch)).toEqual([claimed]);
  });

  it('a certificate proves a batch only with a quorum of its region’s commits for exactly that batch, in this epoch', () => {
    const { top } = seat(4);
    expect(top.certificateValid(certifiedBy(1, 1, [4, 5, 6]))).toBe(true);
    expect(top.certificateValid(certifiedBy(1, 1, [4, 5]))).toBe(false);
    expect(top.certificateValid(certifiedBy(1, 1, [0, 5, 6]))).toBe(false);
    expect(top.certificateValid({ ...certifiedBy(1, 1, [4, 5, 6]), epoch: 1 })).toBe(false);
    expect(top.certificateValid({ ...certifiedBy(1, 1, [4, 5, 6]), region: 4 })).toBe(false);
    expect(top.certificateValid({ ...certifiedBy(1, 1, [4, 5, 6]), batch: { requests: [request()] } })).toBe(false);
  });

  it('as top primary, proposes each pooled batch once, naming it, with requests already ordered skipped', () => {
    const { node, top } = seat(0);
    const shared = request();
    const first = certifiedBy(1, 1, [4, 5, 6], { requests: [shared] });
    top.pooled(first, false);
    top.pooled(first, false);
    top.propose();
    const proposals = node.sent('pre-prepare');
    expect(proposals.map((m) => m.to)).toEqual([4, 8, 12]);
    const named = proposals[0].message as PrePrepareMessage<TopEntryRef>;
    expect(named.payload?.ref).toMatchObject({ region: 1, regionSeq: 1 });
    expect(named.payload).not.toHaveProperty('batch');
    top.propose();
    expect(node.sent()).toEqual([]);
    top.pooled(certifiedBy(2, 1, [8, 9, 10], { requests: [shared, request()] }), false);
    top.propose();
    const [second] = node.sent('pre-prepare');
    expect(second.message.type === 'pre-prepare' && second.message.seq).toBe(2);
    expect((second.message as PrePrepareMessage<TopEntryRef>).payload?.skip).toEqual([0]);
  });

  it('a batch the log executed is not pooled, and leaves the pool when executed', () => {
    const { node, top } = seat(0);
    node.epochs.batchExecuted(1, 1);
    top.pooled(certifiedBy(1, 1, [4, 5, 6]), false);
    top.pooled(certifiedBy(2, 1, [8, 9, 10]), false);
    top.batchExecuted(2, 1);
    top.propose();
    expect(node.sent('pre-prepare')).toEqual([]);
  });

  it('as backup, fills a named proposal in from its pool, or asks the proposer for the batch once', () => {
    const { node, top, decided } = seat(4);
    const batch = certifiedBy(2, 1, [8, 9, 10]);
    const entry: TopEntry = { batch, skip: [], signers: [8, 9, 10] };
    const pp = sign<PrePrepareMessage<TopEntryRef>>(
      { type: 'pre-prepare', group: topGroup(0, 0, 0), view: 0, seq: 1, digest: topDigest(entry), payload: entryRef(entry), sender: 0 },
      simAuthenticator(0, SEED),
    );
    top.resolve(pp);
    expect(node.sent('prepare')).toEqual([]);
    top.fetchUnresolved();
    top.fetchUnresolved();
    const asked = node.sent('batch-fetch');
    expect(asked.map((m) => [m.to, m.message.type === 'batch-fetch' && m.message.regionSeq])).toEqual([[0, 1]]);
    top.pooled(batch, false);
    expect(node.sent('prepare').map((m) => m.to)).toEqual([0, 8, 12]);
    expect(decided).toEqual([]);
  });

  it('serves a batch a backup asks for, once a request timeout per asker', () => {
    const { node, top } = seat(0);
    const batch = certifiedBy(1, 1, [4, 5, 6]);
    top.pooled(batch, false);
    const fetch = (regionSeq: number): BatchFetchMessage => signOwn<BatchFetchMessage>({ type: 'batch-fetch', region: 1, regionSeq }, simAuthenticator(8, SEED));
    top.serveBatch(fetch(1));
    top.serveBatch(fetch(1));
    top.serveBatch(fetch(2));
    expect(node.sent('certified').map((m) => [m.to, m.message.type === 'certified' && m.message.batch])).toEqual([[8, batch]]);
    node.clock = OPTIONS.requestTimeoutTicks;
    top.serveBatch(fetch(1));
    expect(node.sent('certified')).toHaveLength(1);
  });
});

describe('DRKPBFT roles: request intake', () => {
  /** Node `id` of 16 with its region role and intake (4: region 1's primary and seat holder, 5: a member). */
  function intake(id: NodeId, forwardDelayTicks?: number): { node: Node; intake: Intake; executed: ExecutedRequests } {
    const node = new Node(id, 16, forwardDelayTicks);
    const executed = new ExecutedRequests();
    const role = new RegionRole(node.env, node.epochs, executed, { absorb: (out) => node.out.emit(out.messages), pool: () => undefined });
    role.enterStructure();
    return { node, intake: new Intake(node.env, node.epochs, role, executed), executed };
  }

  const forwarded = (node: Node): [NodeId, ClientRequest[], boolean][] =>
    node.sent('forward').map((m) => (m.message.type === 'forward' ? [m.to, m.message.requests, m.message.announce] : [m.to, [], false]));

  it('a member forwards what it learns to its region primary: one signed message per tick, or at once for a full batch', () => {
    const { node, intake: member } = intake(5);
    const [a, b] = [homedIn(1), homedIn(2)];
    member.learn([a, b], false);
    member.learn([a], false);
    expect(forwarded(node)).toEqual([]);
    member.flushForwards();
    expect(forwarded(node)).toEqual([[4, [a, b], false]]);
    const four = [request(), request(), request(), request()];
    member.learn(four, false);
    expect(forwarded(node)).toEqual([[4, four, false]]);
    expect(member.size).toBe(6);
  });

  it('with a forward delay, holds what a client handed it that long, and forwards only what is still not executed', () => {
    const { node, intake: member } = intake(5, 3);
    const [kept, done] = [homedIn(1), homedIn(1)];
    member.learn([kept, done], false, true);
    const peer = homedIn(2);
    member.learn([peer], false); // from a peer, not a client: no delay
    member.flushForwards();
    expect(forwarded(node)).toEqual([[4, [peer], false]]);
    member.forget(requestKey(done));
    node.clock = 2;
    member.flushForwards();
    expect(forwarded(node)).toEqual([]);
    node.clock = 3;
    member.flushForwards();
    expect(forwarded(node)).toEqual([[4, [kept], false]]);
    node.clock = 10;
    member.flushForwards();
    expect(forwarded(node)).toEqual([]);
  });

  it('announces a request not executed a request timeout after it arrived to every voter of its home region, once', () => {
    const { node, intake: member } = intake(5);
    const late = homedIn(2);
    member.learn([late], false);
    member.flushForwards();
    node.sent();
    node.clock = OPTIONS.requestTimeoutTicks - 1;
    member.announceWaiting();
    expect(forwarded(node)).toEqual([]);
    node.clock = OPTIONS.requestTimeoutTicks;
    member.announceWaiting();
    expect(forwarded(node)).toEqual([8, 9, 10, 11].map((to) => [to, [late], true]));
    node.clock = 3 * OPTIONS.requestTimeoutTicks;
    member.announceWaiting();
    expect(forwarded(node)).toEqual([]);
  });

  it('forgets executed requests: neither forwarded nor announced, nor learnt again', () => {
    const { node, intake: member, executed } = intake(5);
    const done = homedIn(1);
    member.learn([done], false);
    executed.add(done);
    member.forget(requestKey(done));
    member.flushForwards();
    node.clock = OPTIONS.requestTimeoutTicks;
    member.announceWaiting();
    member.learn([done], false);
    member.flushForwards();
    expect(forwarded(node)).toEqual([]);
    expect(member.size).toBe(0);
  });

  it('a region primary batches its region’s requests and relays the others to their home region’s seat holder', () => {
    const { node, intake: primary } = intake(4);
    const mine = [homedIn(1), homedIn(1), homedIn(1), homedIn(1)];
    const other = homedIn(3);
    primary.learn([...mine, other], false);
    const proposals = node.sent();
    expect(proposals.filter((m) => m.message.type === 'pre-prepare').map((m) => m.to)).toEqual([5, 6, 7]);
    primary.flushForwards();
    expect(forwarded(node)).toEqual([[12, [other], false]]);
  });

  it('after a reconfiguration, learns everything known again and forwards it anew', () => {
    const { node, intake: member } = intake(5);
    const a = homedIn(1);
    member.learn([a], false);
    member.flushForwards();
    node.sent();
    member.relearn();
    member.flushForwards();
    expect(forwarded(node)).toEqual([[4, [a], false]]);
  });
});
