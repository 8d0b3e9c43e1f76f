import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HostLink, type LinkFrame } from '../../../consensus-plugin/src/fabric/host-link';
import { netProtocolOptions } from '../../../consensus-plugin/src/net/cluster';
import { encodeFrame, FrameDecoder } from '../../../consensus-plugin/src/net/framing';
import { Cluster } from '../../../consensus-plugin/src/net/launcher';

/** 20 ports per test process, apart from net.test.ts's range. */
const basePort = 32_000 + (process.pid % 600) * 20;

/** A stand-in for the Go chain inside one orderer: speaks the host link. */
class FakeHost {
  readonly decided: LinkFrame[] = [];
  readonly signatures: LinkFrame[] = [];
  readonly statuses: LinkFrame[] = [];
  private socket?: Socket;

  async connect(port: number, from: number): Promise<void> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const body of decoder.push(chunk)) {
        const frame = JSON.parse(body.toString('utf8')) as LinkFrame;
        ({ decided: this.decided, signature: this.signatures, status: this.statuses })[frame.type as 'decided' | 'signature' | 'status'].push(frame);
      }
    });
    this.socket = socket;
    this.send({ type: 'hello', channel: 'emr', seq: from });
  }
  send(frame: LinkFrame): void {
    this.socket!.write(encodeFrame(Buffer.from(JSON.stringify(frame))));
  }
  close(): void {
    this.socket?.destroy();
  }
  envs(): string[] {
    return this.decided.flatMap((f) => f.envs ?? []);
  }
}

async function until(what: string, done: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Fabric host link on four real DRKPBFT replica processes', () => {
  let cluster: Cluster | undefined;
  const hosts: FakeHost[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'host-link-test-'));
  afterAll(async () => {
    for (const h of hosts) h.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('orders each tx id once whichever orderers got it, streams decided batches in order, relays signatures, replays unapplied batches', async () => {
    const tickMs = 10;
    const options = netProtocolOptions('drkpbft', 4, 20, tickMs, 1_000);
    cluster = await Cluster.launch({ protocol: 'drkpbft', n: 4, basePort, hostLinkBasePort: basePort + 10, options, tickMs, fsync: false, dir });
    for (let i = 0; i < 4; i++) {
      const host = new FakeHost();
      await host.connect(basePort + 10 + i, 1);
      hosts.push(host);
    }
    // The gateway sends each tx to every orderer; a lifecycle tx goes to one orderer only (tx-l, to node 3).
    const envOf = (key: string) => Buffer.from(`envelope of ${key}`).toString('base64');
    const keys = Array.from({ length: 30 }, (_, i) => `tx-${i}`);
    for (const key of keys) for (const host of hosts) host.send({ type: 'order', key, env: envOf(key) });
    hosts[3]!.send({ type: 'order', key: 'tx-l', env: envOf('tx-l') });
    const want = [...keys, 'tx-l'].map(envOf).sort();
    await until('every host got every tx', () => hosts.every((h) => h.envs().length >= want.length));
    for (const host of hosts) {
      expect([...host.envs()].sort()).toEqual(want); // each tx id exactly once
      expect(host.decided.map((f) => f.seq)).toEqual(host.decided.map((_, i) => i + 1)); // in order, no gaps
    }
    expect(hosts.map((h) => h.decided)).toEqual(hosts.map(() => hosts[0]!.decided)); // the same batches everywhere
    // Each host hears who leads as its replica sees it: node 0, the primary of view 0, holding the one seat.
    for (const host of hosts) expect(host.statuses.at(-1)).toEqual({ type: 'status', leader: 0, view: 0, seats: [0] });

    // A connection that never says hello (a port probe) does not take the link from host 0.
    const probe = net.connect({ host: '127.0.0.1', port: basePort + 10 });
    await new Promise<void>((resolve) => probe.once('connect', () => resolve()));
    probe.destroy();
    const before = hosts[0]!.decided.length;
    for (const host of hosts) host.send({ type: 'order', key: 'tx-after-probe', env: envOf('tx-after-probe') });
    await until('host 0 still linked', () => hosts[0]!.decided.length > before);
    expect(hosts[0]!.envs()).toContain(envOf('tx-after-probe'));

    // A signature frame reaches every other host, tagged with the sender's replica id; `to` targets one.
    hosts[1]!.send({ type: 'signature', payload: Buffer.from('sig of 1').toString('base64') });
    await until('signature relayed', () => [0, 2, 3].every((i) => hosts[i]!.signatures.length === 1));
    expect(hosts[0]!.signatures[0]).toEqual({ type: 'signature', from: 1, payload: Buffer.from('sig of 1').toString('base64') });
    hosts[2]!.send({ type: 'signature', to: 0, payload: 'eA==' });
    await until('targeted signature', () => hosts[0]!.signatures.length === 2);
    expect(hosts[1]!.signatures).toHaveLength(0);
    expect(hosts[3]!.signatures).toHaveLength(1);

    // Host 0 applied everything but the last batch; its replica crashes and restarts: the host,
    // reconnecting from its ledger position, gets exactly the unapplied batches again.
    const last = hosts[0]!.decided.at(-1)!.seq!;
    hosts[0]!.send({ type: 'applied', seq: last - 1 });
    await new Promise((r) => setTimeout(r, 200));
    hosts[0]!.close();
    await cluster.kill(0);
    await cluster.restart(0);
    const again = new FakeHost();
    hosts.push(again);
    await again.connect(basePort + 10, last);
    await until('replay', () => again.decided.length >= 1);
    expect(again.decided[0]).toEqual(hosts[0]!.decided.at(-1));
  }, 60_000);
});

describe('the host link\'s decided log after a crash mid-append', () => {
  it('starts despite a torn last line, and the next batch lands on a line of its own', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'host-link-torn-'));
    try {
      const log = path.join(dataDir, 'decided.log');
      appendFileSync(log, `${JSON.stringify({ seq: 1, envs: ['ZW52MQ=='] })}\n{"seq":2,"envs":["ZW`);
      const link = new HostLink({ id: 0, host: '127.0.0.1', hostLinkPort: 0, dataDir }, [0, 1]);
      await link.persistCommits([{ seq: 2, epoch: 0, digest: 'd2', requests: [{ client: 'fabric:tx2', timestamp: 1, operation: 'ZW52Mg==' }], quorum: [0, 1] }]);
      await link.close();
      const lines = readFileSync(log, 'utf8').split('\n');
      expect(lines.filter((l) => l.startsWith('{')).map((l) => { try { return (JSON.parse(l) as { seq: number }).seq; } catch { return 'torn'; } })).toEqual([1, 'torn', 2]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
