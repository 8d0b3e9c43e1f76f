/**
 * The deliver proxies as a daemon: `node process.js <deliver-proxies.json>`. The network starts
 * it (name `deliver-proxies`) before the peers and stops it by pid like every other process.
 * Its control port, HTTP on loopback:
 *
 * - `GET /proxies`: each orderer's mode, counts and open Deliver streams (ProxyStats);
 * - `POST /mode` with `{"orderer": "orderer2", "mode": "withhold"}`: switch one orderer's proxy.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { DeliverProxies, parseProxyMode, type ProxyConfig } from './proxy';

export interface ProxiesFile extends ProxyConfig {
  controlPort: number;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
      if (body.length > 4096) req.destroy(new Error('request body over 4 KiB'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function main(): Promise<void> {
  const [configPath] = process.argv.slice(2);
  if (configPath === undefined) throw new Error('usage: deliver-proxy <deliver-proxies.json>');
  const file = JSON.parse(readFileSync(configPath, 'utf8')) as ProxiesFile;
  const proxies = new DeliverProxies(file);
  await proxies.start();
  const control = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && req.url === '/proxies') reply(200, proxies.stats());
    else if (req.method === 'POST' && req.url === '/mode') {
      readBody(req)
        .then((text) => {
          const body = JSON.parse(text) as { orderer?: unknown; mode?: unknown };
          if (typeof body.orderer !== 'string') throw new Error("the body needs 'orderer': the name of an orderer");
          const mode = parseProxyMode(body.mode);
          proxies.setMode(body.orderer, mode);
          console.log(`deliver proxy of ${body.orderer}: ${mode}`);
          reply(200, proxies.stats()[body.orderer]);
        })
        .catch((e: Error) => reply(400, { error: e.message }));
    } else reply(404, { error: `no such resource: ${req.method} ${req.url}; use GET /proxies or POST /mode` });
  });
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(file.controlPort, file.host, () => resolve());
  });
  const stop = () => void proxies.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(`deliver proxies: ${file.targets.map((t) => `${t.name} ${file.host}:${t.listenPort} → ${t.targetPort}`).join(', ')}; control on ${file.host}:${file.controlPort}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
