/**
 * Starts one org's service as a long-running process:
 *   node client/dist/services/main.js kgc   --org HospitalA --threshold 2 --state <dir>
 *   node client/dist/services/main.js proxy --org HospitalA --state <dir>
 * Endpoints, wallets and CA certificates come from the connection profile
 * ($EMR_NETWORK_DIR/network.json); a centre's DKG index is its org's position in it.
 */
import { backendFallback, ready } from '@emr/crypto';
import { connectGateway } from '../fabric/connection';
import { ConsortiumSettingsClient } from '../fabric/consortium-settings';
import { ConsentLedger } from '../fabric/consent-ledger';
import { EmergencyAccess } from '../fabric/emergency-access';
import { EmrIndex } from '../fabric/emr-index';
import { KeyCentreRegistry } from '../fabric/key-centre-registry';
import { loadProfile } from '../fabric/profile';
import { extractKey, loadConsortium } from '../wire/key-centres';
import { trustedCasOf } from './auth';
import { KeyGenerationCentreService } from './kgc-service';
import { ProxyService } from './proxy-service';

const arg = (name: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new Error(`missing --${name}`);
  return v;
};
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The id of the consortium's DKG on the chain's board (a new id would run a new one). */
const CONSORTIUM_DKG = 'consortium-v1';

async function main(): Promise<void> {
  const kind = process.argv[2];
  const crypto = await ready();
  log(`crypto backend: ${crypto.name}${backendFallback() ? ` (${backendFallback()})` : ''}`);
  const org = arg('org');
  const profile = loadProfile();
  const orgs = Object.entries(profile.orgs);
  const me = profile.orgs[org];
  if (!me) throw new Error(`unknown org '${org}'`);
  const trust = trustedCasOf(profile);
  if (kind === 'kgc') {
    const connection = connectGateway({ org, user: 'kgc', profile });
    const service = new KeyGenerationCentreService(
      {
        index: orgs.findIndex(([name]) => name === org) + 1,
        n: orgs.length,
        threshold: Number(arg('threshold')),
        port: Number(new URL(me.kgcEndpoint).port),
        endpoint: me.kgcEndpoint,
        peers: new Map(orgs.map(([, o], i) => [i + 1, o.kgcEndpoint])),
        memberOf: new Map(orgs.map(([, o], i) => [i + 1, `kgc@${o.mspId}`])),
        dkgId: CONSORTIUM_DKG,
        stateDir: arg('state'),
        trust,
      },
      { signer: connection, registry: new KeyCentreRegistry(connection), settings: () => new ConsortiumSettingsClient(connection).read(), consents: new ConsentLedger(connection), records: new EmrIndex(connection), emergencies: new EmergencyAccess(connection) },
      log,
    );
    await service.start();
  } else if (kind === 'proxy') {
    const connection = connectGateway({ org, user: 'proxy', profile });
    // The proxy's identity key comes from the key centres, once they have published.
    let key;
    for (let attempt = 1; !key; attempt++) {
      try {
        key = await extractKey(await loadConsortium(connection), `proxy@${me.mspId}`, connection);
      } catch (err) {
        if (attempt % 20 === 1) log(`waiting for the key centres: ${(err as Error).message}`);
        await sleep(500);
      }
    }
    const service = new ProxyService({ port: Number(new URL(me.proxyEndpoint).port), endpoint: me.proxyEndpoint, stateDir: arg('state'), channel: profile.channel, trust }, connection, key, log);
    await service.start();
  } else {
    throw new Error('usage: main.js <kgc|proxy> --org <org> --state <dir> [--threshold t]');
  }
}

main().catch((err: Error) => {
  console.error(`${new Date().toISOString()} fatal: ${err.stack ?? err.message}`);
  process.exit(1);
});
