import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { canonical } from '../../../consensus-plugin/src/core/digest';
import type { Authenticator, NodeId } from '../../../consensus-plugin/src/core/types';
import { netProtocolOptions } from '../../../consensus-plugin/src/net/cluster';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, FrameTooLargeError } from '../../../consensus-plugin/src/net/framing';
import { Ed25519Authenticator, generateAuthenticators, loadAuthenticator, writeClusterKeys } from '../../../consensus-plugin/src/net/keys';
import { Cluster, conflictingPositions } from '../../../consensus-plugin/src/net/launcher';
import { LoadDriver, quantile } from '../../../consensus-plugin/src/net/load';
import { PeerTransport, type PeerAddress } from '../../../consensus-plugin/src/net/transport';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'net-test-'));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

/** 20 ports per test process, below the ephemeral range and away from the CLI's default 7600. */
const basePort = 20_000 + (process.pid % 600) * 20;

describe('Ed25519 authenticator', () => {
  const auths = generateAuthenticators([0, 1, 2]);
  const a0 = auths.get(0)!;
  const a1 = auths.get(1)!;
  const payload = canonical({ type: 'commit', view: 0, seq: 7, digest: 'ab'.repeat(32) });

  it('verifies its own signatures on any node, as 64-byte base64url', () => {
    const signature = a0.sign(payload);
    expect(signature).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(signature, 'base64url')).toHaveLength(64);
    expect(a1.verify(0, payload, signature)).toBe(true);
    expect(a0.verify(0, payload, signature)).toBe(true);
  });

  it('rejects a tampered payload, the wrong signer, a broken signature and an unknown node', () => {
    const signature = a0.sign(payload);
    expect(a1.verify(0, payload.replace('"seq":7', '"seq":8'), signature)).toBe(false);
    expect(a1.verify(2, payload, signature)).toBe(false);
    const flipped = Buffer.from(signature, 'base64url');
    flipped[10]! ^= 1;
    expect(a1.verify(0, payload, flipped.toString('base64url'))).toBe(false);
    expect(a1.verify(0, payload, signature.slice(0, -4))).toBe(false);
    expect(a1.verify(0, payload, 'not a signature')).toBe(false);
    expect(a1.verify(9, payload, signature)).toBe(false);
  });

  it('rejects a node signing with a key that is not its registered one', () => {
    const stranger = generateAuthenticators([0]).get(0)!; // also calls itself 0
    expect(a1.verify(0, payload, stranger.sign(payload))).toBe(false);
  });

  it('writes cluster key files each process can load, and refuses a private key that does not match', () => {
    const dir = tmpDir();
    const files = writeClusterKeys(dir, [0, 1]);
    const n0 = loadAuthenticator(0, files.privateKey(0), files.publicKeys);
    const n1 = loadAuthenticator(1, files.privateKey(1), files.publicKeys);
    expect(n0).toBeInstanceOf(Ed25519Authenticator);
    expect(n1.verify(0, payload, n0.sign(payload))).toBe(true);
    expect(n0.verify(1, payload, n0.sign(payload))).toBe(false);
    expect(() => loadAuthenticator(0, files.privateKey(1), files.publicKeys)).toThrow(/does not match/);
  });
});

describe('framing', () => {
  const bodies = [Buffer.from('{"a":1}'), Buffer.alloc(0), Buffer.from('x'.repeat(70_000)), Buffer.from('é✓')];
  const stream = Buffer.concat(bodies.map(encodeFrame));

  it('restores frames delivered one byte at a time', () => {
    const decoder = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(out.map(String)).toEqual(bodies.map(String));
  });

  it('restores frames coalesced into one chunk, and in uneven chunks across headers', () => {
    expect(new FrameDecoder().push(stream).map(String)).toEqual(bodies.map(String));
    const decoder = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 7) out.push(...decoder.push(stream.subarray(i, i + 7)));
    expect(out.map(String)).toEqual(bodies.map(String));
  });

  it('holds back a partial frame until its last byte arrives', () => {
    const frame = encodeFrame(Buffer.from('hello'));
    const decoder = new FrameDecoder();
    expect(decoder.push(frame.subarray(0, 6))).toEqual([]);
    expect(decoder.push(frame.subarray(6)).map(String)).toEqual(['hello']);
  });

  it('rejects an oversize frame as soon as its header arrives', () => {
    const decoder = new FrameDecoder(1024);
    expect(decoder.push(encodeFrame(Buffer.alloc(1024)))).toHaveLength(1);
    const header = encodeFrame(Buffer.alloc(1025)).subarray(0, 4);
    expect(() => decoder.push(header)).toThrow(FrameTooLargeError);
  });
});

describe('peer transport', () => {
  type Message = { n: number; text: string };
  const received = new Map<NodeId, [NodeId, Message][]>();
  const transports: PeerTransport<Message>[] = [];
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
    received.clear();
  });

  function node(self: PeerAddress, peers: PeerAddress[], auth: Authenticator, options: { congestionBytes?: number } = {}): PeerTransport<Message> {
    const transport = new PeerTransport<Message>({
      self,
      peers,
      auth,
      onMessage: (from, message) => received.set(self.id, [...(received.get(self.id) ?? []), [from, message]]),
      ...options,
    });
    transports.push(transport);
    return transport;
  }
  const until = async (condition: () => boolean, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('delivers in order both ways over one connection, including messages queued before the peer was up', async () => {
    const auths = generateAuthenticators([0, 1]);
    const peers = [0, 1].map((id) => ({ id, host: '127.0.0.1', port: basePort + id }));
    const t0 = node(peers[0]!, peers, auths.get(0)!);
    await t0.start();
    for (let n = 0; n < 100; n++) t0.send(1, { n, text: `m${n}` }); // node 1 is not listening yet
    const t1 = node(peers[1]!, peers, auths.get(1)!);
    await t1.start();
    t1.send(0, { n: -1, text: 'back' });
    await until(() => (received.get(1)?.length ?? 0) === 100 && (received.get(0)?.length ?? 0) === 1);
    expect(received.get(1)!.map(([from, m]) => [from, m.n])).toEqual(Array.from({ length: 100 }, (_, n) => [0, n]));
    expect(received.get(0)).toEqual([[1, { n: -1, text: 'back' }]]);
    expect(t0.connectedPeers()).toEqual([1]);
  });

  it('refuses a peer whose hello is signed with a key other than the registered one', async () => {
    const auths = generateAuthenticators([0, 1]);
    const impostor = generateAuthenticators([0]).get(0)!;
    const peers = [0, 1].map((id) => ({ id, host: '127.0.0.1', port: basePort + 2 + id }));
    const fake0 = node(peers[0]!, peers, impostor);
    const t1 = node(peers[1]!, peers, auths.get(1)!);
    await Promise.all([fake0.start(), t1.start()]);
    fake0.send(1, { n: 1, text: 'forged' });
    await new Promise((r) => setTimeout(r, 300));
    expect(received.get(1)).toBeUndefined();
    expect(t1.connectedPeers()).toEqual([]);
  });

  it('closes a connection that announces an oversize frame, and drops an oversize message instead of sending it', async () => {
    const auths = generateAuthenticators([0, 1]);
    const peers = [0, 1].map((id) => ({ id, host: '127.0.0.1', port: basePort + 6 + id }));
    const t1 = new PeerTransport<Message>({ self: peers[1]!, peers, auth: auths.get(1)!, onMessage: () => undefined, maxFrameBytes: 1024 });
    transports.push(t1);
    await t1.start();
    const raw = net.connect({ host: '127.0.0.1', port: peers[1]!.port });
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.on('error', () => undefined);
    raw.write(encodeFrame(Buffer.alloc(2048)).subarray(0, 4));
    await closed;

    const t0 = node(peers[0]!, peers, auths.get(0)!);
    await t0.start();
    t0.send(1, { n: 1, text: 'z'.repeat(DEFAULT_MAX_FRAME_BYTES) });
    expect(t0.stats).toMatchObject({ dropped: 1, sentMessages: 0 });
  });

  it('deflates a large message (a batch of envelopes repeats its certificates), and refuses one that inflates beyond the frame limit', async () => {
    const auths = generateAuthenticators([0, 1]);
    const peers = [0, 1].map((id) => ({ id, host: '127.0.0.1', port: basePort + 8 + id }));
    const t0 = node(peers[0]!, peers, auths.get(0)!);
    const t1 = new PeerTransport<Message>({ self: peers[1]!, peers, auth: auths.get(1)!, onMessage: (from, m) => received.set(1, [...(received.get(1) ?? []), [from, m]]), maxFrameBytes: 256 * 1024 });
    transports.push(t1);
    await Promise.all([t0.start(), t1.start()]);
    const certificate = randomBytes(800).toString('base64');
    const batch = Array.from({ length: 50 }, (_, i) => `${randomBytes(1500).toString('base64')}${certificate}${i}`).join(',');
    t0.send(1, { n: 1, text: batch });
    t0.send(1, { n: 2, text: 'small' });
    await until(() => received.get(1)?.length === 2);
    expect(received.get(1)!.map(([, m]) => m)).toEqual([{ n: 1, text: batch }, { n: 2, text: 'small' }]);
    expect(t0.stats.sentBytes).toBeLessThan(0.9 * batch.length);
    // 1 MiB of one letter deflates to a few KiB, far below the limit; inflated it is not.
    t0.send(1, { n: 3, text: 'a'.repeat(1024 * 1024) });
    t0.send(1, { n: 4, text: 'after' });
    await until(() => received.get(1)?.length === 3);
    expect(received.get(1)![2]![1]).toEqual({ n: 4, text: 'after' });
    expect(t1.stats.refused).toBe(1);
  });

  it('reconnects after the peer restarts, and reports congestion until the peer has read the backlog', async () => {
    const auths = generateAuthenticators([0, 1]);
    const peers = [0, 1].map((id) => ({ id, host: '127.0.0.1', port: basePort + 4 + id }));
    const t0 = node(peers[0]!, peers, auths.get(0)!, { congestionBytes: 64 * 1024 });
    const t1 = node(peers[1]!, peers, auths.get(1)!);
    await Promise.all([t0.start(), t1.start()]);
    t0.send(1, { n: 1, text: 'first' });
    await until(() => received.get(1)?.length === 1);
    await t1.close();
    const again = node(peers[1]!, peers, auths.get(1)!);
    await again.start();
    // Anything written before node 0 notices the old connection is gone is lost (as with any TCP peer that dies).
    await until(() => again.connectedPeers().includes(0));
    t0.send(1, { n: 2, text: 'after restart' });
    await until(() => received.get(1)?.length === 2);
    expect(received.get(1)![1]![1].text).toBe('after restart');

    // Megabytes sent in one turn cannot have left the process yet: congested until node 1 has read it.
    expect(t0.congested()).toBe(false);
    const big = randomBytes(192 * 1024).toString('base64'); // deflates little: ~6 MiB on the wire
    for (let n = 0; n < 32; n++) t0.send(1, { n, text: big });
    expect(t0.congested()).toBe(true);
    await until(() => received.get(1)?.length === 2 + 32);
    expect(t0.congested()).toBe(false);
    expect(t0.stats.dropped).toBe(0);
  });
});

describe('quantile and agreement helpers', () => {
  it('takes the nearest-rank quantile', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.99)).toBe(99);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('finds positions where two replicas committed different batches', () => {
    const logs = new Map([
      [0, new Map([[1, 'a'], [2, 'b']])],
      [1, new Map([[1, 'a'], [2, 'c'], [3, 'd']])],
      [2, new Map([[1, 'a']])],
    ]);
    expect(conflictingPositions(logs)).toEqual([2]);
  });
});

describe('real PBFT cluster (4 processes, Ed25519, 127.0.0.1)', () => {
  let cluster: Cluster | undefined;
  let driver: LoadDriver | undefined;
  afterAll(async () => {
    driver?.stop();
    await cluster?.stop();
  });

  const highestSeq = async (ids: NodeId[]) => Math.max(...(await cluster!.stats()).filter((s) => ids.includes(s.id)).map((s) => s.committedSeq));

  it('commits a few hundred requests, survives its primary being killed by pid, and the restarted replica catches up', async () => {
    const tickMs = 10;
    // Checkpoints every 64: a replica can fetch what it missed only while the others still keep it (4 intervals).
    const options = { ...netProtocolOptions('pbft', 4, 20, tickMs, 500), checkpointInterval: 64 };
    cluster = await Cluster.launch({ protocol: 'pbft', n: 4, basePort: basePort + 10, options, tickMs, fsync: false, dir: tmpDir() });
    const pids = [0, 1, 2, 3].map((id) => cluster!.pid(id)!);
    expect(new Set(pids).size).toBe(4);
    for (const pid of pids) expect(() => process.kill(pid, 0)).not.toThrow();

    driver = new LoadDriver(cluster.config.replicas, { clients: 4, window: 10, resubmitMs: 1_000 });
    await driver.start();
    await driver.waitForCompleted(300, 15_000);

    // Node 0 is the primary of view 0: the others must change view to go on.
    const seqAtKill = await highestSeq([1, 2, 3]);
    await cluster.kill(0);
    expect(() => process.kill(pids[0]!, 0)).toThrow();
    await driver.waitForCompleted(driver.completed + 200, 15_000);
    const survivorsSeq = await highestSeq([1, 2, 3]);
    expect(survivorsSeq).toBeGreaterThan(seqAtKill);

    // Restarted from its persisted state, node 0 fetches what it missed and commits on.
    await cluster.restart(0);
    expect(cluster.pid(0)).not.toBe(pids[0]);
    const deadline = Date.now() + 10_000;
    while ((await highestSeq([0])) <= survivorsSeq) {
      if (Date.now() > deadline) throw new Error(`node 0 stuck at ${await highestSeq([0])}, the others passed ${survivorsSeq}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    driver.stop();

    const logs = cluster.commitLogs();
    expect(conflictingPositions(logs)).toEqual([]);
    const gaps = [...logs].map(([id, log]) => [id, Array.from({ length: Math.max(0, ...log.keys()) }, (_, i) => i + 1).filter((seq) => !log.has(seq))]);
    expect(gaps).toEqual([0, 1, 2, 3].map((id) => [id, []]));
  }, 45_000);
});
