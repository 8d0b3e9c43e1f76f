import { spawn, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { Relays } from '../../../network/src/wan/relay';
import { dialerOf, parentOf, socketInode, socketOwner } from '../../../network/src/wan/socket-owner';
import { delayMs, wanPlan } from '../../../network/src/wan/zones';

const HOST = '127.0.0.1';

/** A server that echoes every byte back. */
async function echoServer(): Promise<net.Server> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  return server;
}

const portOf = (server: net.Server) => (server.address() as AddressInfo).port;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, HOST, () => resolve()));
  const port = portOf(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Sends `payload` through a connection to `port` and resolves with the echo and the round trip in ms. */
function roundTrip(port: number, payload: Buffer): Promise<{ echo: Buffer; ms: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    const chunks: Buffer[] = [];
    let received = 0;
    let started = 0;
    socket.once('connect', () => {
      started = performance.now();
      socket.write(payload);
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
      if (received >= payload.length) {
        const ms = performance.now() - started;
        socket.end();
        resolve({ echo: Buffer.concat(chunks), ms });
      }
    });
    socket.once('error', reject);
  });
}

describe('WAN plan', () => {
  it('deals nodes round-robin over three zones and looks up delays both ways', () => {
    const plan = wanPlan(['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7']);
    expect(plan.zoneOf).toEqual({ o1: 0, o2: 1, o3: 2, o4: 0, o5: 1, o6: 2, o7: 0 });
    expect(delayMs(plan, 'o1', 'o3')).toBe(40);
    expect(delayMs(plan, 'o3', 'o1')).toBe(40);
    expect(delayMs(plan, 'o1', 'o4')).toBe(1);
    expect(delayMs(plan, undefined, 'o1')).toBe(0);
    expect(delayMs(plan, 'peer0', 'o1')).toBe(0);
    expect(delayMs(undefined, 'o1', 'o3')).toBe(0);
  });

  it('refuses a matrix that is not square, symmetric and non-negative, naming the fault', () => {
    expect(() => wanPlan(['a'], [[1, 2]])).toThrow(/square/);
    expect(() => wanPlan(['a'], [[0, 5], [6, 0]])).toThrow(/symmetric: zone 0→1 is 5 ms but 1→0 is 6 ms/);
    expect(() => wanPlan(['a'], [[-1]])).toThrow(/non-negative/);
  });
});

describe('socket owner', () => {
  let server: net.Server;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  });
  afterAll(async () => {
    child?.kill();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('finds this process as the dialer of its own connection', async () => {
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect({ host: HOST, port: portOf(server) });
    const inbound = await accepted;
    try {
      const inode = socketInode(inbound.remoteAddress!, inbound.remotePort!);
      expect(inode).toBeGreaterThan(0);
      expect(socketOwner(inode!)).toBe(process.pid);
      expect(dialerOf(inbound.remoteAddress!, inbound.remotePort!, new Map([[process.pid, 'me']]))).toBe('me');
    } finally {
      client.destroy();
      inbound.destroy();
    }
  });

  it('names a child process by its known parent, and a stranger not at all', async () => {
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const script = `require('net').connect({ host: '${HOST}', port: ${portOf(server)} }); setInterval(() => {}, 1000);`;
    child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    const inbound = await accepted;
    try {
      expect(parentOf(child.pid!)).toBe(process.pid);
      expect(dialerOf(inbound.remoteAddress!, inbound.remotePort!, new Map([[child.pid!, 'child']]))).toBe('child');
      expect(dialerOf(inbound.remoteAddress!, inbound.remotePort!, new Map([[process.pid, 'parent']]))).toBe('parent');
      expect(dialerOf(inbound.remoteAddress!, inbound.remotePort!, new Map([[1, 'init']]))).toBeUndefined();
    } finally {
      inbound.destroy();
    }
  });
});

describe('delaying relays', () => {
  let target: net.Server;
  let relays: Relays | undefined;
  beforeAll(async () => {
    target = await echoServer();
  });
  afterEach(async () => relays?.stop());
  afterAll(async () => new Promise<void>((resolve) => target.close(() => resolve())));

  it('delays both directions by the zones\' one-way delay, keeps every byte in order, and counts them per pair', async () => {
    const listenPort = await freePort();
    const plan = wanPlan(['me', 'echo'], [[0, 60], [60, 0]]);
    relays = new Relays({ host: HOST, links: [{ to: 'echo', listenPort, targetPort: portOf(target) }], plan, processes: () => new Map([[process.pid, 'me']]) });
    await relays.start();
    const direct = await roundTrip(portOf(target), Buffer.from('x'));
    const payload = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const relayed = await roundTrip(listenPort, payload);
    expect(relayed.echo.equals(payload)).toBe(true);
    expect(relayed.ms).toBeGreaterThanOrEqual(120);
    expect(direct.ms).toBeLessThan(60);
    const links = relays.links();
    expect(links).toEqual(
      expect.arrayContaining([
        { from: 'me', to: 'echo', bytes: payload.length, connections: 1 },
        { from: 'echo', to: 'me', bytes: payload.length, connections: 0 },
      ]),
    );
  });

  it('adds no delay for a dialer it cannot name, and counts it as `?`', async () => {
    const listenPort = await freePort();
    const plan = wanPlan(['me', 'echo'], [[0, 500], [500, 0]]);
    relays = new Relays({ host: HOST, links: [{ to: 'echo', listenPort, targetPort: portOf(target) }], plan, processes: () => new Map() });
    await relays.start();
    const relayed = await roundTrip(listenPort, Buffer.from('hello'));
    expect(relayed.echo.toString()).toBe('hello');
    expect(relayed.ms).toBeLessThan(500);
    expect(relays.links()).toEqual(expect.arrayContaining([{ from: '?', to: 'echo', bytes: 5, connections: 1 }]));
  });
});
