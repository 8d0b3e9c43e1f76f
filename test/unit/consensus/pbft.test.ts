/**
 * PBFT step by step: the engine (PbftInstance) and flat PBFT (createPbft) driven by a tiny
 * in-test message pump that delivers every message in order, optionally dropping some.
 */
import { batchDigest, requestKey, sha256 } from '../../../consensus-plugin/src/core/digest';
import { simAuthenticators } from '../../../consensus-plugin/src/core/sim-auth';
import type { Authenticator, ClientRequest, ClusterOptions, Commit, NodeId, Outbound } from '../../../consensus-plugin/src/core/types';
import { PbftInstance, type Decision, type PbftInstanceState, type PbftOutput } from '../../../consensus-plugin/src/pbft/instance';
import { sign, type CommitMessage, type PbftInstanceMessage, type PrePrepareMessage, type ViewChangeMessage } from '../../../consensus-plugin/src/pbft/messages';
import { ExecutedRequests, recordClients, type ExecutedRecord } from '../../../consensus-plugin/src/core/executed';
import { createPbft, type PbftMessage, type PbftNode, type PbftState, type RequestMessage } from '../../../consensus-plugin/src/pbft/protocol';
import { maxFaulty, quorumSize } from '../../../consensus-plugin/src/pbft/quorum';
import { Verifier, verifyCertificate } from '../../../consensus-plugin/src/pbft/verifier';
import { provesConflict, type Misbehaviour } from '../../../consensus-plugin/src/pbft/evidence';

const OPTIONS: ClusterOptions = { batchSize: 3, batchTimeoutTicks: 1, requestTimeoutTicks: 8, checkpointInterval: 4 };
const ids = (n: number): NodeId[] => Array.from({ length: n }, (_, i) => i);
const request = (client: string, timestamp: number): ClientRequest => ({ client, timestamp, operation: `op ${client}/${timestamp}` });

interface Envelope<M> {
  from: NodeId;
  to: NodeId;
  message: M;
}

/** Delivers queued messages in order; `drop` and `down` lose some. */
class Pump<M> {
  readonly queue: Envelope<M>[] = [];
  readonly sent: Envelope<M>[] = [];
  readonly down = new Set<NodeId>();
  drop: (e: Envelope<M>) => boolean = () => false;

  constructor(private readonly deliverTo: (e: Envelope<M>) => Outbound<M>[]) {}

  post(from: NodeId, out: readonly Outbound<M>[]): void {
    for (const { to, message } of out) {
      const e = { from, to, message };
      this.sent.push(e);
      this.queue.push(e);
    }
  }

  /** Delivers until nothing is left (or `limit` deliveries). */
  run(limit = 1_000_000): void {
    for (let i = 0; i < limit && this.queue.length > 0; i++) {
      const e = this.queue.shift() as Envelope<M>;
      if (this.down.has(e.to) || this.down.has(e.from) || this.drop(e)) continue;
      this.post(e.to, this.deliverTo(e));
    }
  }
}

// ---- engine-level cluster --------------------------------------------------------------

/** n engines over payload type P, with their decisions, misbehaviour reports and last persisted state. */
class Group<P> {
  readonly auths: Authenticator[];
  readonly engines: PbftInstance<P>[];
  readonly decisions: Decision<P>[][];
  readonly misbehaviours: Misbehaviour<P>[][];
  readonly states: (PbftInstanceState<P> | undefined)[];
  readonly pump: Pump<PbftInstanceMessage<P>>;

  constructor(
    readonly n: number,
    private readonly make: (self: NodeId, auth: Authenticator, persisted?: PbftInstanceState<P>) => PbftInstance<P>,
  ) {
    this.auths = simAuthenticators(n, 'pbft-test');
    this.engines = ids(n).map((i) => make(i, this.auths[i]));
    this.decisions = ids(n).map(() => []);
    this.misbehaviours = ids(n).map(() => []);
    this.states = ids(n).map(() => undefined);
    this.pump = new Pump((e) => this.absorb(e.to, this.engines[e.to].step(e.message, e.from)));
  }

  absorb(i: NodeId, out: PbftOutput<P>): Outbound<PbftInstanceMessage<P>>[] {
    this.decisions[i].push(...out.decisions);
    this.misbehaviours[i].push(...out.misbehaviours);
    if (out.state) this.states[i] = out.state;
    return out.messages;
  }

  /** Feeds an output of node i into the network and runs it. */
  emit(i: NodeId, out: PbftOutput<P>): void {
    this.pump.post(i, this.absorb(i, out));
    this.pump.run();
  }

  propose(payload: P): void {
    const primary = this.engines.find((e) => e.isPrimary && !this.pump.down.has(e.self));
    if (!primary) throw new Error('no primary');
    this.emit(primary.self, primary.propose(payload));
  }

  /** Every live replica ticks, then the messages are delivered. */
  tick(times = 1): void {
    for (let t = 0; t < times; t++) {
      for (const e of this.engines) if (!this.pump.down.has(e.self)) this.pump.post(e.self, this.absorb(e.self, e.tick()));
      this.pump.run();
    }
  }

  /** Restarts node i from its last persisted state. */
  restart(i: NodeId): void {
    this.engines[i] = this.make(i, this.auths[i], this.states[i]);
    this.pump.down.delete(i);
  }

  decided(i: NodeId): P[] {
    return this.decisions[i].map((d) => d.payload as P);
  }
}

/** A group ordering strings (any payload type works: the engine is generic). */
const stringGroup = (n: number, options: ClusterOptions = OPTIONS, validate: (p: string) => boolean = () => true): Group<string> =>
  new Group<string>(n, (self, auth, persisted) =>
    new PbftInstance<string>({ self, group: 'test', members: ids(n), options, auth, digest: (p) => sha256(p), validate, persisted }),
  );

const messagesOf = <P>(g: Group<P>, type: PbftInstanceMessage<P>['type']): Envelope<PbftInstanceMessage<P>>[] =>
  g.pump.sent.filter((e) => e.message.type === type);

// ---- flat PBFT cluster -----------------------------------------------------------------

class Flat {
  readonly auths: Authenticator[];
  readonly protocol: ReturnType<typeof createPbft>;
  readonly nodes: PbftNode[];
  readonly commits: Commit[][];
  readonly states: (PbftState | undefined)[];
  readonly pump: Pump<PbftMessage>;

  constructor(readonly n: number, readonly options: ClusterOptions = OPTIONS) {
    this.auths = simAuthenticators(n, 'flat-test');
    this.protocol = createPbft(ids(n), options);
    this.nodes = ids(n).map((i) => this.protocol.createNode(i, this.auths[i]) as PbftNode);
    this.commits = ids(n).map(() => []);
    this.states = ids(n).map(() => undefined);
    this.pump = new Pump((e) => this.absorb(e.to, this.nodes[e.to].step(e.from, e.message)));
  }

  absorb(i: NodeId, ready: { messages: Outbound<PbftMessage>[]; commits: Commit[]; state?: PbftState }): Outbound<PbftMessage>[] {
    this.commits[i].push(...ready.commits);
    if (ready.state) this.states[i] = JSON.parse(JSON.stringify(ready.state)) as PbftState;
    return ready.messages;
  }

  submit(i: NodeId, r: ClientRequest): void {
    this.pump.post(i, this.absorb(i, this.nodes[i].submit(r)));
    this.pump.run();
  }

  tick(times = 1): void {
    for (let t = 0; t < times; t++) {
      for (const node of this.nodes) if (!this.pump.down.has(node.id)) this.pump.post(node.id, this.absorb(node.id, node.tick()));
      this.pump.run();
    }
  }

  restart(i: NodeId): void {
    this.nodes[i] = this.protocol.createNode(i, this.auths[i], this.states[i]) as PbftNode;
    this.pump.down.delete(i);
  }

  executedKeys(i: NodeId): string[] {
    return this.commits[i].flatMap((c) => c.requests.map(requestKey));
  }
}

const verifierFor = <P>(g: Group<P>, digest: (p: P) => string): Verifier<P> =>
  new Verifier<P>({ group: 'test', members: ids(g.n), primaryOrder: ids(g.n), auth: g.auths[0], digest, nullDigest: '', checkpointInterval: OPTIONS.checkpointInterval });

describe('group sizes', () => {
  it('tolerates f = ⌊(m − 1)/3⌋ and needs quorums that intersect in f + 1', () => {
    expect([1, 4, 5, 6, 7, 10].map(maxFaulty)).toEqual([0, 1, 1, 1, 2, 3]);
    expect([1, 4, 5, 6, 7, 10].map(quorumSize)).toEqual([1, 3, 4, 4, 5, 7]);
    for (let m = 1; m <= 40; m++) {
      const q = quorumSize(m);
      expect(2 * q - m).toBeGreaterThanOrEqual(maxFaulty(m) + 1);
      expect(q).toBeLessThanOrEqual(m - maxFaulty(m));
    }
  });
});

describe('normal case', () => {
  it.each([
    [4, 3],
    [7, 5],
  ])('n = %i: pre-prepare, prepare, commit, and every replica decides with a quorum of %i commits', (n, q) => {
    const g = stringGroup(n);
    g.propose('a');
    expect(messagesOf(g, 'pre-prepare').map((e) => [e.from, e.to])).toEqual(ids(n).slice(1).map((to) => [0, to]));
    expect(messagesOf(g, 'prepare')).toHaveLength((n - 1) * (n - 1)); // every backup to every other member
    expect(messagesOf(g, 'prepare').some((e) => e.from === 0)).toBe(false); // the primary does not prepare
    expect(messagesOf(g, 'commit')).toHaveLength(n * (n - 1));
    for (const i of ids(n)) {
      expect(g.decisions[i]).toHaveLength(1);
      const d = g.decisions[i][0];
      expect([d.seq, d.view, d.digest, d.payload]).toEqual([1, 0, sha256('a'), 'a']);
      expect(new Set(d.certificate.map((c) => c.sender)).size).toBe(q);
      expect(verifyCertificate({ group: 'test', members: ids(n), ...d }, g.auths[i])).toBe(true);
    }
  });

  it('decides in sequence order, several proposals in flight', () => {
    const g = stringGroup(4);
    // Commits for seq 1 are held back until seq 2 and 3 have committed.
    const held: Envelope<PbftInstanceMessage<string>>[] = [];
    g.pump.drop = (e) => e.message.type === 'commit' && e.message.seq === 1 && held.push(e) > 0;
    g.propose('a');
    g.propose('b');
    g.propose('c');
    expect(g.decisions[1]).toHaveLength(0);
    g.pump.drop = () => false;
    g.pump.queue.push(...held);
    g.pump.run();
    for (const i of ids(4)) expect(g.decisions[i].map((d) => [d.seq, d.payload])).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
  });

  it('does not decide on quorum − 1 commits (2f at n = 4)', () => {
    const g = stringGroup(4);
    g.pump.down.add(3);
    g.pump.drop = (e) => e.message.type === 'commit' && e.from === 2; // 0 and 1 see their own and each other's only
    g.propose('a');
    expect(g.decisions[0]).toHaveLength(0);
    expect(g.decisions[1]).toHaveLength(0);
    expect(g.decisions[2]).toHaveLength(1); // its own and those of 0 and 1: a quorum
  });

  it('ignores a message with a bad signature and reports it', () => {
    const g = stringGroup(4);
    const primary = g.engines[0];
    const pp = primary.propose('a').messages[0].message as PrePrepareMessage<string>;
    const forged = { ...pp, sig: '0'.repeat(16) };
    const out = g.engines[1].step(forged, 0);
    expect(out.messages).toHaveLength(0);
    expect(out.misbehaviours).toEqual([{ node: 0, kind: 'bad-signature', proof: [forged] }]);
    // The genuine one still counts.
    expect(g.engines[1].step(pp, 0).messages.map((o) => o.message.type)).toEqual(['prepare', 'prepare', 'prepare']);
  });

  it('ignores other groups and non-members', () => {
    const g = stringGroup(4);
    const pp = g.engines[0].propose('a').messages[0].message as PrePrepareMessage<string>;
    const otherGroup = sign<PrePrepareMessage<string>>({ ...pp, group: 'other' }, g.auths[0]);
    const outsider = sign<PrePrepareMessage<string>>({ ...pp }, simAuthenticators(9, 'pbft-test')[8]);
    for (const m of [otherGroup, outsider]) expect(g.engines[1].step(m)).toEqual({ messages: [], decisions: [], misbehaviours: [] });
  });

  it('detects a conflicting pre-prepare (equivocation) and a conflicting vote, with proofs', () => {
    const g = stringGroup(4);
    const pp = (payload: string): PrePrepareMessage<string> =>
      sign<PrePrepareMessage<string>>({ type: 'pre-prepare', group: 'test', view: 0, seq: 1, digest: sha256(payload), payload, sender: 0 }, g.auths[0]);
    const [a, b] = [pp('a'), pp('b')];
    const first = g.engines[1].step(a);
    expect(first.messages.every((o) => o.message.type === 'prepare' && o.message.digest === sha256('a'))).toBe(true);
    const second = g.engines[1].step(b);
    expect(second.messages).toHaveLength(0); // no second prepare
    expect(second.misbehaviours).toEqual([{ node: 0, kind: 'equivocation', proof: [a, b] }]);
    const verifier = verifierFor(g, sha256);
    expect(provesConflict(second.misbehaviours[0], verifier)).toBe(true);
    expect(provesConflict({ node: 0, kind: 'equivocation', proof: [a, a] }, verifier)).toBe(false);

    const vote = (digest: string) => sign<PbftInstanceMessage<string>>({ type: 'prepare', group: 'test', view: 0, seq: 1, digest, sender: 2 }, g.auths[2]);
    g.engines[1].step(vote(sha256('a')));
    const conflict = g.engines[1].step(vote(sha256('b'))).misbehaviours;
    expect(conflict.map((m) => [m.node, m.kind])).toEqual([[2, 'conflicting-vote']]);
    expect(provesConflict(conflict[0], verifier)).toBe(true);
  });

  it('rejects pre-prepares outside the watermarks (low, low + 2 × interval]', () => {
    const g = stringGroup(4);
    expect(g.engines[1].watermarks).toEqual({ low: 0, high: 8 });
    const at = (seq: number) =>
      sign<PrePrepareMessage<string>>({ type: 'pre-prepare', group: 'test', view: 0, seq, digest: sha256(`p${seq}`), payload: `p${seq}`, sender: 0 }, g.auths[0]);
    expect(g.engines[1].step(at(9)).messages).toHaveLength(0);
    expect(g.engines[1].step(at(0)).messages).toHaveLength(0);
    expect(g.engines[1].step(at(8)).messages).toHaveLength(3);
  });
});

describe('checkpoints', () => {
  it('makes a checkpoint stable with a quorum of matching checkpoint messages and garbage-collects the log', () => {
    const g = stringGroup(4);
    for (const p of ['a', 'b', 'c']) g.propose(p);
    expect(g.engines[2].logSeqs).toEqual([1, 2, 3]);
    expect(messagesOf(g, 'checkpoint')).toHaveLength(0);
    g.propose('d'); // seq 4 = checkpointInterval
    expect(messagesOf(g, 'checkpoint')).toHaveLength(4 * 3);
    for (const e of g.engines) {
      const stable = e.stableCheckpoint;
      expect(stable.seq).toBe(4);
      expect(new Set(stable.proof.map((c) => c.sender)).size).toBe(3);
      expect(stable.proof.every((c) => c.seq === 4 && c.state === stable.state)).toBe(true);
      expect(e.logSeqs).toEqual([]);
      expect(e.watermarks).toEqual({ low: 4, high: 12 });
    }
    expect(new Set(g.engines.map((e) => e.stableCheckpoint.state)).size).toBe(1);
    g.propose('e');
    expect(g.engines[2].logSeqs).toEqual([5]);
    expect(g.states[2]?.slots.map((s) => s.seq)).toEqual([5]);
  });

  it('queues proposals while the window is full and proposes them once a checkpoint is stable', () => {
    const g = stringGroup(4);
    const held: Envelope<PbftInstanceMessage<string>>[] = [];
    g.pump.drop = (e) => e.message.type === 'checkpoint' && held.push(e) > 0;
    const payloads = ids(10).map((i) => `p${i}`);
    for (const p of payloads) g.propose(p);
    expect(g.decisions[1]).toHaveLength(8); // seq 9 and 10 wait above the high watermark
    expect(g.engines[0].undecidedProposals()).toEqual(['p8', 'p9']);
    g.pump.drop = () => false;
    g.pump.queue.push(...held);
    g.pump.run();
    for (const i of ids(4)) expect(g.decided(i)).toEqual(payloads);
  });
});

describe('view change', () => {
  /**
   * Primary 0 proposes 'gap' (seq 1, never prepared) and 'a' (seq 2, prepared everywhere,
   * committed nowhere), then falls silent; view 0's prepares for seq 1 and commits stay lost.
   */
  function preparedThenSilent(): Group<string> {
    const g = stringGroup(4);
    g.pump.drop = ({ message: m }) => (m.type === 'prepare' && m.view === 0 && m.seq === 1) || (m.type === 'commit' && m.view === 0);
    g.propose('gap');
    g.propose('a');
    expect(g.decisions.flat()).toHaveLength(0);
    g.pump.down.add(0);
    for (const i of [1, 2, 3]) g.engines[i].expect('work');
    return g;
  }

  it('changes view when a primary is silent, preserves what was prepared, fills gaps with null requests, then makes progress', () => {
    const g = preparedThenSilent();
    g.tick(OPTIONS.requestTimeoutTicks - 1);
    expect(messagesOf(g, 'view-change')).toHaveLength(0);
    g.tick();
    const viewChanges = messagesOf(g, 'view-change').map((e) => e.message as ViewChangeMessage<string>);
    expect(viewChanges.length).toBeGreaterThan(0);
    for (const vc of viewChanges) expect(vc.prepared.map((c) => [c.prePrepare.seq, c.prePrepare.payload])).toEqual([[2, 'a']]);
    expect(messagesOf(g, 'new-view').map((e) => e.from)).toEqual([1, 1, 1]);
    for (const i of [1, 2, 3]) {
      expect([g.engines[i].view, g.engines[i].installed, g.engines[i].primary]).toEqual([1, true, 1]);
      expect(g.decisions[i].map((d) => [d.seq, d.view, d.payload])).toEqual([
        [1, 1, null],
        [2, 1, 'a'],
      ]);
      expect(g.decisions[i][1].digest).toBe(sha256('a'));
    }
    g.propose('b');
    for (const i of [1, 2, 3]) expect(g.decisions[i].map((d) => [d.seq, d.payload])).toEqual([[1, null], [2, 'a'], [3, 'b']]);
  });

  /** Primary 0 of 7 sends 'x' to backups 1–3 and 'y' to 4–6 for seq 1, both signed. */
  function equivocatingPrimary(): Group<string> {
    const g = stringGroup(7);
    const other = sign<PrePrepareMessage<string>>({ type: 'pre-prepare', group: 'test', view: 0, seq: 1, digest: sha256('y'), payload: 'y', sender: 0 }, g.auths[0]);
    g.pump.drop = (e) => e.message.type === 'pre-prepare' && e.message.digest === sha256('x') && e.to >= 4;
    g.pump.post(0, [4, 5, 6].map((to) => ({ to, message: other })));
    g.propose('x');
    return g;
  }

  it('changes view at once, without a timeout, when f + 1 backups prepared another proposal than the primary sent', () => {
    const g = equivocatingPrimary();
    // No tick has passed: the view changes because 3 = f + 1 prepares contradict each backup's pre-prepare.
    for (const i of ids(7).slice(1)) expect(g.engines[i].view).toBeGreaterThanOrEqual(1);
    expect(messagesOf(g, 'new-view').map((e) => e.from)).toContain(1);
    expect(g.decisions.flat().filter((d) => d.payload !== null)).toEqual([]);
    g.pump.drop = () => false;
    g.propose('z');
    // Neither proposal prepared, so the new view starts again at seq 1.
    for (const i of ids(7).slice(1)) expect(g.decided(i)).toEqual(['z']);
  });

  it('does not change view on f prepares for another proposal (they may all be Byzantine)', () => {
    const g = stringGroup(7);
    g.pump.drop = (e) => e.message.type === 'commit';
    g.propose('x');
    const forged = (sender: NodeId): PbftInstanceMessage<string> => sign({ type: 'prepare', group: 'test', view: 0, seq: 1, digest: sha256('forged'), sender }, g.auths[sender]);
    // 5 and 6 are Byzantine: their prepares for a digest the primary never signed reach everyone else.
    for (const to of [1, 2, 3, 4]) for (const from of [5, 6]) g.pump.post(from, [{ to, message: forged(from) }]);
    g.pump.run();
    for (const i of [1, 2, 3, 4]) expect([g.engines[i].view, g.engines[i].installed]).toEqual([0, true]);
    expect(messagesOf(g, 'view-change')).toEqual([]);
  });

  it('doubles the timeout for each consecutive failed view', () => {
    const g = stringGroup(7);
    g.pump.down.add(0).add(1); // primaries of views 0 and 1
    g.pump.drop = (e) => e.message.type === 'new-view' && e.message.view === 2; // view 2's new view is lost
    for (const i of ids(7).slice(2)) g.engines[i].expect('work');
    const startedAt = new Map<number, number>();
    for (let t = 1; t <= 40; t++) {
      g.tick();
      for (const e of messagesOf(g, 'view-change')) {
        const { view } = e.message as ViewChangeMessage<string>;
        if (!startedAt.has(view)) startedAt.set(view, t);
      }
    }
    const T = OPTIONS.requestTimeoutTicks;
    // View 1 after T; its primary is down, so view 2 after another T; view 2's new view is lost, so view 3 after 2T.
    expect([...startedAt]).toEqual([
      [1, T],
      [2, 2 * T],
      [3, 4 * T],
    ]);
    for (const i of ids(7).slice(2)) expect([g.engines[i].view, g.engines[i].installed]).toEqual([3, true]);
  });

  describe('a new view that does not recompute is rejected', () => {
    function withNewViewWithheldFromNode3() {
      const g = preparedThenSilent();
      g.pump.drop = (e) => e.message.type === 'new-view' && e.to === 3;
      g.tick(OPTIONS.requestTimeoutTicks);
      const nv = messagesOf(g, 'new-view')[0].message as Extract<PbftInstanceMessage<string>, { type: 'new-view' }>;
      expect([g.engines[3].view, g.engines[3].installed]).toEqual([1, false]);
      return { g, nv, node3: g.engines[3] };
    }

    it.each([
      ['too few view changes', (nv: NV, auths: Authenticator[]) => sign<NV>({ ...nv, viewChanges: nv.viewChanges.slice(0, 2) }, auths[1])],
      [
        'a forged view change',
        (nv: NV, auths: Authenticator[]) => sign<NV>({ ...nv, viewChanges: [...nv.viewChanges.slice(0, 2), { ...nv.viewChanges[2], sender: 0 }] }, auths[1]),
      ],
      [
        'a view change dropping a prepared certificate',
        (nv: NV, auths: Authenticator[]) =>
          sign<NV>({ ...nv, viewChanges: nv.viewChanges.map((vc) => sign<ViewChangeMessage<string>>({ ...vc, prepared: [] }, auths[vc.sender])) }, auths[1]),
      ],
      [
        'a re-proposal other than the prepared value',
        (nv: NV, auths: Authenticator[]) =>
          sign<NV>(
            { ...nv, prePrepares: nv.prePrepares.map((pp) => (pp.seq === 2 ? sign<PrePrepareMessage<string>>({ ...pp, payload: 'evil', digest: sha256('evil') }, auths[1]) : pp)) },
            auths[1],
          ),
      ],
      ['a sender that is not the primary of the view', (nv: NV, auths: Authenticator[]) => sign<NV>({ ...nv }, auths[2])],
    ])('%s', (_, forge) => {
      const { g, nv, node3 } = withNewViewWithheldFromNode3();
      const forged = forge(nv, g.auths);
      const out = node3.step(forged);
      expect(node3.installed).toBe(false);
      expect(out.messages).toHaveLength(0);
      expect(out.misbehaviours.map((m) => m.kind)).toEqual(['invalid-proposal']);
      node3.step(nv); // the genuine one
      expect([node3.view, node3.installed]).toEqual([1, true]);
    });
  });
});

type NV = Extract<PbftInstanceMessage<string>, { type: 'new-view' }>;

describe('crash and restart', () => {
  it('a restarted backup never prepares a conflicting pre-prepare', () => {
    const g = stringGroup(4);
    const pp = (payload: string) =>
      sign<PrePrepareMessage<string>>({ type: 'pre-prepare', group: 'test', view: 0, seq: 1, digest: sha256(payload), payload, sender: 0 }, g.auths[0]);
    g.absorb(1, g.engines[1].step(pp('a')));
    const persisted = JSON.parse(JSON.stringify(g.states[1])) as PbftInstanceState<string>;
    g.restart(1);
    g.engines[1] = new PbftInstance<string>({ self: 1, group: 'test', members: ids(4), options: OPTIONS, auth: g.auths[1], digest: sha256, validate: () => true, persisted });
    const out = g.engines[1].step(pp('x'));
    expect(out.messages).toHaveLength(0);
    expect(out.misbehaviours.map((m) => m.kind)).toEqual(['equivocation']);
  });

  it('a restarted primary does not reuse a sequence number', () => {
    const g = stringGroup(4);
    g.propose('a');
    g.restart(0);
    g.propose('b');
    expect(messagesOf(g, 'pre-prepare').filter((e) => e.to === 1).map((e) => e.message as PrePrepareMessage<string>).map((pp) => [pp.seq, pp.payload])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    for (const i of ids(4)) expect(g.decided(i)).toEqual(['a', 'b']);
  });

  it('a replica that was down catches up with verified decided entries and the stable checkpoint', () => {
    const g = stringGroup(4);
    g.propose('a');
    g.pump.down.add(3);
    for (const p of ['b', 'c', 'd', 'e', 'f']) g.propose(p);
    expect(g.engines[0].stableCheckpoint.seq).toBe(4);
    g.restart(3);
    expect(g.engines[3].lastExecuted).toBe(1);
    g.propose('g');
    expect(g.engines[3].lastExecuted).toBe(1); // seq 7 is decided there, 2–6 are missing
    g.tick(4);
    expect(messagesOf(g, 'fetch').map((e) => e.from)).toContain(3);
    expect(g.decided(3)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(g.engines[3].stableCheckpoint.seq).toBe(4);
    expect(g.decisions[3].map((d) => d.digest)).toEqual(g.decisions[0].map((d) => d.digest));
  });
});

describe('verifyCertificate', () => {
  const g = stringGroup(4);
  g.propose('a');
  const d = g.decisions[2][0];
  const claim = { group: 'test', members: ids(4), view: d.view, seq: d.seq, digest: d.digest, certificate: d.certificate };
  const auth = g.auths[3];

  it('accepts a real certificate', () => expect(verifyCertificate(claim, auth)).toBe(true));
  it('rejects 2f signatures', () => expect(verifyCertificate({ ...claim, certificate: d.certificate.slice(0, 2) }, auth)).toBe(false));
  it('rejects a wrong digest, sequence number, view or group', () => {
    expect(verifyCertificate({ ...claim, digest: sha256('b') }, auth)).toBe(false);
    expect(verifyCertificate({ ...claim, seq: 2 }, auth)).toBe(false);
    expect(verifyCertificate({ ...claim, view: 1 }, auth)).toBe(false);
    expect(verifyCertificate({ ...claim, group: 'other' }, auth)).toBe(false);
  });
  it('counts a voter once and only with a valid signature', () => {
    const [c0, c1] = d.certificate;
    expect(verifyCertificate({ ...claim, certificate: [c0, c1, c1] }, auth)).toBe(false);
    expect(verifyCertificate({ ...claim, certificate: [c0, c1, { ...d.certificate[2], sig: c0.sig }] }, auth)).toBe(false);
    const withoutC0 = { ...claim, members: [0, 1, 2, 3].map((m) => (m === c0.sender ? 9 : m)) };
    expect(verifyCertificate(withoutC0, auth)).toBe(false);
  });
});

describe('genericity', () => {
  interface RegionBatch {
    region: number;
    items: string[];
  }
  const digest = (p: RegionBatch) => sha256(JSON.stringify([p.region, p.items]));

  it('orders any payload type and reports proposals its validity check rejects', () => {
    const g = new Group<RegionBatch>(4, (self, auth, persisted) =>
      new PbftInstance<RegionBatch>({
        self,
        group: 'top@e0',
        members: ids(4),
        primaryOrder: [2, 0, 1, 3],
        options: OPTIONS,
        auth,
        digest,
        validate: (p, seq) => p.region >= 0 && p.items.length > 0 && seq > 0,
        persisted,
      }),
    );
    expect(g.engines.map((e) => e.primary)).toEqual([2, 2, 2, 2]);
    g.propose({ region: 3, items: ['x', 'y'] });
    for (const i of ids(4)) expect(g.decided(i)).toEqual([{ region: 3, items: ['x', 'y'] }]);
    g.propose({ region: -1, items: ['z'] });
    expect(g.decisions[0]).toHaveLength(1);
    expect(g.misbehaviours[0].map((m) => [m.node, m.kind])).toEqual([[2, 'invalid-proposal']]);
  });
});

// ---- flat PBFT -------------------------------------------------------------------------

describe('flat PBFT', () => {
  it('commits batches at global sequence numbers 1, 2, 3, … with the voters of their certificates', () => {
    const c = new Flat(4);
    // Backups 1–3: node 2's third request fills a forward (sent at once), the others go at the first tick.
    for (let t = 1; t <= 7; t++) c.submit(1 + (t % 3), request('alice', t));
    c.tick(2);
    const reference = c.commits[0];
    expect(reference.map((x) => x.seq)).toEqual([1, 2, 3]); // batches of 3, 3 and 1
    expect(reference.map((x) => x.requests.length)).toEqual([3, 3, 1]);
    const content = (commits: Commit[]) => commits.map(({ seq, digest, requests, epoch }) => ({ seq, digest, requests, epoch }));
    for (const i of ids(4)) {
      expect(content(c.commits[i])).toEqual(content(reference));
      for (const commit of c.commits[i]) {
        expect(commit.digest).toBe(batchDigest(commit.requests));
        expect(commit.epoch).toBe(0);
        expect(new Set(commit.quorum).size).toBe(c.protocol.quorumFor(commit));
      }
    }
    // Every voter named in a quorum sent a commit vote for that (seq, digest).
    const votes = c.pump.sent.flatMap((e) => c.protocol.votes(e.message));
    for (const commit of reference)
      for (const voter of commit.quorum) expect(votes).toContainEqual({ voter, seq: commit.seq, digest: commit.digest });
    expect(c.protocol.maxFaulty()).toBe(1);
  });

  it('forwards a request to the primary and proposes a partial batch after batchTimeoutTicks', () => {
    const c = new Flat(4, { ...OPTIONS, batchTimeoutTicks: 3 });
    c.submit(2, request('bob', 1));
    expect(c.pump.sent).toHaveLength(0); // buffered until the tick
    c.tick();
    expect(c.pump.sent.map((e) => [e.message.type, e.from, e.to])).toEqual([['request', 2, 0]]);
    c.tick(2);
    expect(c.commits[0]).toHaveLength(0);
    c.tick();
    for (const i of ids(4)) expect(c.executedKeys(i)).toEqual([requestKey(request('bob', 1))]);
  });

  it('buffers forwards: one signed message per tick, or at once when batchSize requests are buffered', () => {
    const c = new Flat(4, { ...OPTIONS, batchTimeoutTicks: 100 });
    const forwards = () => c.pump.sent.filter((e) => e.message.type === 'request').map((e) => [e.from, e.to, (e.message as RequestMessage).requests.map((r) => r.timestamp)]);
    c.submit(1, request('hana', 1));
    c.submit(1, request('hana', 2));
    c.submit(1, request('hana', 1)); // already buffered
    expect(forwards()).toEqual([]);
    for (let t = 3; t <= 5; t++) c.submit(2, request('hana', t));
    expect(forwards()).toEqual([[2, 0, [3, 4, 5]]]); // batchSize reached: sent without waiting
    c.tick();
    expect(forwards()).toEqual([[2, 0, [3, 4, 5]], [1, 0, [1, 2]]]);
    c.tick();
    expect(forwards()).toHaveLength(2); // nothing left to send
    expect(c.commits[0].map((x) => x.requests.map((r) => r.timestamp))).toEqual([[3, 4, 5]]); // a full batch at once
  });

  it('re-forwards a buffered request to the new primary after a view change', () => {
    const c = new Flat(4);
    c.pump.down.add(0);
    const r = request('ivan', 1);
    c.submit(2, r);
    c.tick(2 * OPTIONS.requestTimeoutTicks + 2);
    const toNewPrimary = c.pump.sent.filter((e) => e.message.type === 'request' && !e.message.broadcast && e.to === 1);
    expect(toNewPrimary.length).toBeGreaterThan(0);
    for (const i of [1, 2, 3]) expect(c.executedKeys(i)).toEqual([requestKey(r)]);
  });

  it('executes a duplicate request once', () => {
    const c = new Flat(4);
    const r = request('carol', 1);
    c.submit(1, r);
    c.submit(2, r);
    c.submit(0, r);
    c.tick(2);
    c.submit(3, r); // already executed
    c.tick(2);
    for (const i of ids(4)) expect(c.executedKeys(i)).toEqual([requestKey(r)]);
    // A (Byzantine or re-proposed) batch that repeats it: skipped at execution, same commit everywhere, digest as voted.
    const r2 = request('carol', 2);
    c.pump.post(0, c.nodes[0].engine.propose([r, r2]).messages);
    c.pump.run();
    for (const i of ids(4)) {
      const last = c.commits[i][c.commits[i].length - 1];
      expect([last.seq, last.requests, last.digest]).toEqual([2, [r2], batchDigest([r, r2])]);
      expect(c.executedKeys(i)).toEqual([requestKey(r), requestKey(r2)]);
    }
  });

  it('replaces a silent primary: the request is announced to all, then the view changes and it commits', () => {
    const c = new Flat(4);
    c.pump.down.add(0);
    const r = request('dave', 1);
    c.submit(1, r);
    c.tick(OPTIONS.requestTimeoutTicks);
    expect(c.pump.sent.filter((e) => e.message.type === 'request' && e.message.broadcast).map((e) => e.to)).toEqual([0, 2, 3]);
    c.tick(OPTIONS.requestTimeoutTicks + 2);
    for (const i of [1, 2, 3]) {
      expect([c.nodes[i].engine.view, c.nodes[i].engine.installed]).toEqual([1, true]);
      expect(c.executedKeys(i)).toEqual([requestKey(r)]);
      expect(c.commits[i][0].seq).toBe(1);
    }
  });

  it('restarts a backup and the primary from persisted (serialized) state without forking, and catches up', () => {
    const c = new Flat(4);
    let t = 0;
    const load = (k: number) => {
      for (let i = 0; i < k; i++) {
        t++;
        c.submit(c.pump.down.has(t % 4) ? (t + 1) % 4 : t % 4, request('erin', t)); // clients use a live node
      }
      c.tick(3);
    };
    load(4);
    c.pump.down.add(2);
    load(12);
    c.restart(2);
    load(3);
    c.tick(4);
    c.restart(0);
    load(5);
    c.tick(4);
    // The restarted primary still knows what it executed: an old request is not executed again.
    c.submit(0, request('erin', 1));
    c.submit(2, request('erin', 2));
    c.tick(4);
    const reference = c.commits[1];
    expect(reference.map((x) => x.seq)).toEqual(ids(reference.length).map((i) => i + 1));
    expect(c.executedKeys(1)).toHaveLength(t);
    for (const i of ids(4)) {
      expect(c.commits[i].map((x) => [x.seq, x.digest])).toEqual(reference.map((x) => [x.seq, x.digest]));
      expect(new Set(c.executedKeys(i)).size).toBe(t);
      expect(c.executedKeys(i)).toHaveLength(t);
      // Persisted: one entry per client, not one per request.
      expect(c.states[i]?.executed).toEqual({ kept: { erin: { upTo: t, above: [] } }, expiring: [] });
    }
  });

  it('measures canonical JSON once per message object', () => {
    const c = new Flat(4);
    c.submit(1, request('frank', 1));
    c.tick();
    const m = c.pump.sent[0].message;
    const size = c.protocol.wireSize(m);
    expect(size).toBe(Buffer.byteLength(JSON.stringify({ broadcast: false, group: 'flat', requests: [{ client: 'frank', operation: 'op frank/1', timestamp: 1 }], sender: 1, sig: m.sig, type: 'request' })));
    (m as { requests: ClientRequest[] }).requests = [];
    expect(c.protocol.wireSize(m)).toBe(size);
  });

  it('mutations: a re-signed pre-prepare for another batch, a re-signed conflicting vote, a broken signature', () => {
    const c = new Flat(4);
    for (let t = 1; t <= 3; t++) c.submit(0, request('gina', t));
    const verifier = new Verifier<ClientRequest[]>({
      group: 'flat',
      members: ids(4),
      primaryOrder: ids(4),
      auth: c.auths[0],
      digest: batchDigest,
      nullDigest: batchDigest([]),
      checkpointInterval: OPTIONS.checkpointInterval,
    });
    const pp = c.pump.sent.find((e) => e.message.type === 'pre-prepare')?.message as PrePrepareMessage<ClientRequest[]>;
    const twin = c.protocol.mutations.equivocate(pp, c.auths[0]) as PrePrepareMessage<ClientRequest[]>;
    expect([twin.view, twin.seq, twin.payload?.length]).toEqual([pp.view, pp.seq, 2]);
    expect(twin.digest).not.toBe(pp.digest);
    expect(verifier.prePrepare(twin)).toBe(true);
    expect(provesConflict({ node: 0, kind: 'equivocation', proof: [pp, twin] }, verifier)).toBe(true);

    const commit = c.pump.sent.find((e) => e.message.type === 'commit' && e.from === 1)?.message as CommitMessage;
    const conflicting = c.protocol.mutations.conflictingVote(commit, c.auths[1]) as CommitMessage;
    expect([conflicting.seq, conflicting.view, conflicting.sender]).toEqual([commit.seq, commit.view, 1]);
    expect(conflicting.digest).not.toBe(commit.digest);
    expect(verifier.signed(conflicting)).toBe(true);
    expect(c.protocol.mutations.conflictingVote(pp, c.auths[0])).toBeUndefined();
    expect(c.protocol.mutations.equivocate(commit, c.auths[1])).toBeUndefined();

    const broken = c.protocol.mutations.badSignature(commit) as CommitMessage;
    expect(verifier.signed(broken)).toBe(false);
    const before = c.commits[3].length;
    c.nodes[3].step(1, broken);
    expect(c.commits[3]).toHaveLength(before);
  });
});

describe('executed-request record', () => {
  it('keeps per client a contiguous prefix and the timestamps above it, and answers like a set of request keys', () => {
    const executed = new ExecutedRequests();
    const done = [request('a', 2), request('a', 4), request('b', 1), request('a', 0.5), request('a', -1), request('a', 0)];
    for (const r of done) executed.add(r, 1);
    expect(executed.record().kept).toEqual({ a: { upTo: 0, above: [2, 4, 0.5, -1, 0] }, b: { upTo: 1, above: [] } });
    executed.add(request('a', 1), 1);
    executed.add(request('a', 3), 1);
    expect(executed.record().kept).toEqual({ a: { upTo: 4, above: [0.5, -1, 0] }, b: { upTo: 1, above: [] } });
    const keys = new Set([...done, request('a', 1), request('a', 3)].map(requestKey));
    const probes = [-2, -1, 0, 0.5, 1, 1.5, 2, 3, 4, 5].flatMap((t) => [request('a', t), request('b', t), request('c', t)]);
    const restored = new ExecutedRequests(JSON.parse(JSON.stringify(executed.record())));
    for (const p of probes) {
      expect(executed.has(p)).toBe(keys.has(requestKey(p)));
      expect(restored.has(p)).toBe(keys.has(requestKey(p)));
    }
  });

  it('returns the same record until a change and never mutates one it returned', () => {
    const executed = new ExecutedRequests();
    executed.add(request('a', 1), 1);
    const first = executed.record();
    expect(executed.record()).toBe(first);
    executed.add(request('a', 1), 1);
    expect(executed.record()).toBe(first);
    executed.add(request('a', 2), 1);
    expect(first.kept).toEqual({ a: { upTo: 1, above: [] } });
    expect(executed.record().kept).toEqual({ a: { upTo: 2, above: [] } });
  });
});

describe('executed-request record with a dedup window', () => {
  const oneShot = (tx: string): ClientRequest => request(`fabric:${tx}`, 1);

  it('forgets a one-shot record once `window` positions executed after its request, and only then', () => {
    const executed = new ExecutedRequests(undefined, 3);
    executed.add(oneShot('x'), 1);
    executed.add(oneShot('y'), 2);
    expect(executed.expire(3)).toBe(0);
    expect(executed.has(oneShot('x'))).toBe(true);
    expect(executed.expire(4)).toBe(1);
    expect([executed.has(oneShot('x')), executed.has(oneShot('y'))]).toEqual([false, true]);
    expect(executed.expire(5)).toBe(1);
    expect(executed.record()).toEqual({ kept: {}, expiring: [] });
  });

  it('keeps a client that numbers its requests, and restarts the clock of one that executes again', () => {
    const executed = new ExecutedRequests(undefined, 3);
    executed.add(request('numbered', 1), 1);
    executed.add(request('numbered', 2), 1);
    executed.add(request('gappy', 1), 1);
    executed.add(request('gappy', 3), 5);
    expect(executed.expire(7)).toBe(0);
    expect(executed.expire(8)).toBe(1);
    expect(executed.expire(1000)).toBe(0);
    expect(executed.has(request('numbered', 2))).toBe(true);
    expect(executed.has(request('gappy', 3))).toBe(false);
    expect(executed.record()).toEqual({ kept: { numbered: { upTo: 2, above: [] } }, expiring: [] });
  });

  it('persists the expiry positions and, restored, forgets exactly what the original forgets', () => {
    const steps = (e: ExecutedRequests, from: number, to: number): void => {
      for (let seq = from; seq <= to; seq++) {
        e.add(oneShot(`t${seq}`), seq);
        if (seq % 3 === 0) e.add(oneShot(`t${seq - 2}`), seq); // a repeat does not restart the clock
        if (seq % 4 === 0) e.add(request('numbered', seq / 4), seq);
        e.expire(seq);
      }
    };
    const clientsOf = (r: ExecutedRecord): string[] => recordClients(r).sort();
    const original = new ExecutedRequests(undefined, 5);
    steps(original, 1, 10);
    const saved = JSON.parse(JSON.stringify(original.record())) as ExecutedRecord;
    expect(saved.expiring.flatMap((text) => JSON.parse(text) as unknown[])).toContainEqual(['fabric:t10', 1, [], 10]);
    const restored = new ExecutedRequests(saved, 5);
    steps(original, 11, 30);
    steps(restored, 11, 30);
    expect(clientsOf(restored.record())).toEqual(clientsOf(original.record()));
    expect(clientsOf(original.record())).toEqual(['fabric:t26', 'fabric:t27', 'fabric:t28', 'fabric:t29', 'fabric:t30', 'numbered']);
    for (let seq = 31; seq <= 40; seq++) expect(restored.has(oneShot(`t${seq - 5}`))).toBe(original.has(oneShot(`t${seq - 5}`)));
  });

  it('persists the expiring records in chunks whose text stays the same string until one of them expires', () => {
    const executed = new ExecutedRequests(undefined, 100);
    for (let i = 0; i < 600; i++) executed.add(oneShot(`c${i}`), 1 + Math.floor(i / 100));
    const before = executed.record().expiring;
    expect(before.map((text) => (JSON.parse(text) as unknown[]).length)).toEqual([256, 256, 88]);
    executed.add(oneShot('late'), 7);
    const after = executed.record().expiring;
    expect(after[0]).toBe(before[0]); // the same string: the state file hashes and stores it once
    expect(after[1]).toBe(before[1]);
    expect(after[2]).not.toBe(before[2]);
    expect(executed.expire(102)).toBe(200);
    expect(executed.record().expiring[0]).not.toBe(before[0]);
    expect(executed.record().expiring[1]).toBe(before[1]);
  });

  it('reads the record written before chunks (one object, `at` on the records that may expire)', () => {
    const legacy = { numbered: { upTo: 2, above: [] }, 'fabric:old': { upTo: 1, above: [], at: 3 } } as unknown as ExecutedRecord;
    const executed = new ExecutedRequests(legacy, 5);
    expect([executed.has(request('numbered', 2)), executed.has(oneShot('old'))]).toEqual([true, true]);
    expect(executed.expire(8)).toBe(1);
    expect(executed.record()).toEqual({ kept: { numbered: { upTo: 2, above: [] } }, expiring: [] });
  });

  it('keeps every record when the window is off', () => {
    const executed = new ExecutedRequests(undefined, 0);
    executed.add(oneShot('x'), 1);
    expect(executed.expire(1_000_000)).toBe(0);
    expect(executed.record()).toEqual({ kept: { 'fabric:x': { upTo: 1, above: [] } }, expiring: [] });
  });
});

describe('flat PBFT with a dedup window', () => {
  const WINDOW = 4;
  const windowed = (): Flat => new Flat(4, { ...OPTIONS, dedupWindow: WINDOW });
  /** One position: a fresh one-shot request at the primary, batched at the next tick. */
  const position = (c: Flat, tx: string): void => {
    c.submit(0, request(`fabric:${tx}`, 1));
    c.tick(2);
  };
  const count = (c: Flat, i: NodeId, r: ClientRequest): number => c.executedKeys(i).filter((k) => k === requestKey(r)).length;

  it('suppresses a duplicate inside the window on every replica, and orders it again only after the window', () => {
    const c = windowed();
    const x = request('fabric:x', 1);
    c.submit(0, x);
    c.tick(2);
    position(c, 'a');
    c.submit(1, x);
    c.submit(0, x);
    position(c, 'b');
    for (const i of ids(4)) expect(count(c, i, x)).toBe(1);
    for (let p = 0; p < WINDOW; p++) position(c, `later${p}`);
    expect(recordClients(c.states[0]!.executed)).not.toContain('fabric:x');
    c.submit(1, x);
    c.tick(4);
    for (const i of ids(4)) expect(count(c, i, x)).toBe(2);
    expect(new Set(ids(4).map((i) => JSON.stringify(c.states[i]?.executed))).size).toBe(1);
  });

  it('does not learn a forgotten request again from its persisted pending list after a restart', () => {
    const c = windowed();
    const early = ['p', 'q', 'r'].map((tx) => request(`fabric:${tx}`, 1));
    for (const r of early) c.submit(1, r);
    c.tick(3);
    for (let p = 0; p < WINDOW + 1; p++) position(c, `later${p}`);
    expect(c.states[1]?.pending).toEqual([]);
    c.pump.down.add(1);
    c.restart(1);
    c.tick(3 * OPTIONS.requestTimeoutTicks);
    for (const i of ids(4)) for (const r of early) expect(count(c, i, r)).toBe(1);
    expect(c.nodes.map((n) => n.engine.view)).toEqual([0, 0, 0, 0]);
  });
});

describe('flat PBFT under a seeded adversary', () => {
  /** mulberry32: a small seeded PRNG, so each run is reproducible. */
  const prng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  /**
   * n nodes, the last one Byzantine (it equivocates, votes for other digests and breaks
   * signatures on most of what it sends); messages dropped with probability `drop` and
   * delivered 1–3 ticks late in random order; an honest node crashes now and then and
   * restarts from its serialized state. Requests stop at 60% of the run, crashes heal.
   */
  function adversarialRun(seed: number, n: number, drop: number, ticks: number) {
    const random = prng(seed);
    const protocol = createPbft(ids(n), { batchSize: 4, batchTimeoutTicks: 1, requestTimeoutTicks: 12, checkpointInterval: 4 });
    const auths = simAuthenticators(n, `adversary-${seed}`);
    const nodes = auths.map((a, i) => protocol.createNode(i, a));
    const saved: (PbftState | undefined)[] = nodes.map(() => undefined);
    const commits: Commit[][] = nodes.map(() => []);
    const byzantine = n - 1;
    const down = new Set<NodeId>();
    let inFlight: { at: number; from: NodeId; to: NodeId; message: PbftMessage }[] = [];
    let now = 0;
    const emit = (from: NodeId, ready: { messages: Outbound<PbftMessage>[]; commits: Commit[]; state?: PbftState }) => {
      commits[from].push(...ready.commits);
      if (ready.state) saved[from] = JSON.parse(JSON.stringify(ready.state)) as PbftState;
      for (const { to, message } of ready.messages) {
        let m = message;
        if (from === byzantine) {
          const x = random();
          if (x < 0.3) m = protocol.mutations.equivocate(m, auths[from]) ?? m;
          else if (x < 0.6) m = protocol.mutations.conflictingVote(m, auths[from]) ?? m;
          else if (x < 0.7) m = protocol.mutations.badSignature(m);
        }
        if (random() >= drop) inFlight.push({ at: now + 1 + Math.floor(random() * 3), from, to, message: m });
      }
    };
    const restart = (i: NodeId) => {
      down.delete(i);
      nodes[i] = protocol.createNode(i, auths[i], saved[i]);
    };
    const submitted: string[] = [];
    for (now = 1; now <= ticks; now++) {
      const loadPhase = now <= ticks * 0.6;
      if (loadPhase && random() < 0.5) {
        const r = request(`client${Math.floor(random() * 3)}`, now);
        let target = Math.floor(random() * (n - 1));
        while (down.has(target)) target = (target + 1) % (n - 1);
        submitted.push(requestKey(r));
        emit(target, nodes[target].submit(r));
      }
      if (loadPhase && down.size === 0 && random() < 0.03) down.add(Math.floor(random() * (n - 1)));
      else if (down.size > 0 && (!loadPhase || random() < 0.05)) restart([...down][0]);
      for (const node of nodes) if (!down.has(node.id)) emit(node.id, node.tick());
      const due = inFlight.filter((m) => m.at <= now);
      inFlight = inFlight.filter((m) => m.at > now);
      for (let i = due.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [due[i], due[j]] = [due[j], due[i]];
      }
      for (const m of due) if (!down.has(m.to)) emit(m.to, nodes[m.to].step(m.from, m.message));
    }
    return { honest: ids(n - 1).map((i) => commits[i]), submitted };
  }

  it.each([
    [1, 4, 0.1],
    [2, 7, 0.05],
  ])('seed %i, n = %i, %f loss: no two honest nodes commit differently, each request runs once, all commit in the end', (seed, n, drop) => {
    const { honest, submitted } = adversarialRun(seed, n, drop, 280);
    const digestAt = new Map<number, string>();
    for (const commits of honest) {
      expect(commits.map((c) => c.seq)).toEqual(ids(commits.length).map((i) => i + 1));
      for (const c of commits) {
        expect(c.digest).toBe(digestAt.get(c.seq) ?? c.digest);
        digestAt.set(c.seq, c.digest);
      }
      const keys = commits.flatMap((c) => c.requests.map(requestKey));
      expect(new Set(keys).size).toBe(keys.length);
      expect(new Set(keys)).toEqual(new Set(submitted));
    }
  });
});
