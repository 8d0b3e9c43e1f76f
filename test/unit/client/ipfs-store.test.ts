/**
 * An upload into a Kubo node that dies as it pins (a fake Kubo RPC on 127.0.0.1): the store
 * must leave no pin behind that no one can name. It adds unpinned, pins by the CID the add
 * answered, and removes that pin once the node answers again if the pin's answer was lost.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { ServiceUnavailableError } from '../../../client/src';
import { IpfsStore } from '../../../client/src/sharing/ipfs-store';

jest.setTimeout(60_000); // the first load of kubo-rpc-client takes seconds under load

const CID = 'bafkreie3gt2idzbjzglsn2lvj5xqwdraxyjpkllhkpfmo4nsjicmkqkasm';

/** A Kubo node that pins when asked (or with `pin=true` on add) and drops the connection the first time it has pinned. */
function dyingKubo() {
  const pins = new Set<string>();
  let died = false;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const die = () => {
      if (died) return false;
      died = true;
      req.socket.destroy(); // the answer never leaves: a SIGKILL right after the pin
      return true;
    };
    req.resume();
    req.on('end', () => {
      if (url.pathname === '/api/v0/add') {
        if (url.searchParams.get('pin') === 'true') {
          pins.add(CID);
          if (die()) return;
        }
        res.end(`${JSON.stringify({ Name: 'record', Hash: CID, Size: '3' })}\n`);
      } else if (url.pathname === '/api/v0/pin/add') {
        pins.add(url.searchParams.get('arg')!);
        if (die()) return;
        res.end(JSON.stringify({ Pins: [url.searchParams.get('arg')] }));
      } else if (url.pathname === '/api/v0/pin/rm') {
        const arg = url.searchParams.get('arg')!;
        if (!pins.delete(arg)) res.writeHead(500).end(JSON.stringify({ Message: `${arg} is not pinned`, Code: 0, Type: 'error' }));
        else res.end(JSON.stringify({ Pins: [arg] }));
      } else {
        res.writeHead(404).end();
      }
    });
  });
  return { server, pins };
}

it('a node that dies as it pins keeps no pin the uploader cannot name: the upload fails and the pin is gone', async () => {
  const { server, pins } = dyingKubo();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const store = new IpfsStore([{ org: 'HospitalA', api: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }]);
    const failed = await store.add(Readable.from([Buffer.from('abc')])).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ServiceUnavailableError);
    expect((failed as Error).message).toMatch(/HospitalA/);
    expect([...pins]).toEqual([]);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
