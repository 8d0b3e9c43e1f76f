/**
 * One key centre of a test or benchmark DKG as its own process, on the live network's chain:
 *   tsx client/bench/dkg-centre.ts '<json config>'   (dkg-centres.ts starts them)
 * It runs the real KeyGenerationCentreService's DKG (the chain's board, sealed HTTP shares)
 * under a fresh DKG id, honest or cheating as told, and prints one JSON line: its outcome,
 * its real A_0 = f(0)·G (the test's oracle for the right mpk), and the time the DKG took.
 * It never registers on chain: the consortium's own centres stay the ones in use.
 */
import { mkdirSync } from 'node:fs';
import { G1, ready, toBase64url, type PrivateShare } from '@emr/crypto';
import { connectGateway } from '../src/fabric/connection';
import { ConsentLedger } from '../src/fabric/consent-ledger';
import { EmergencyAccess } from '../src/fabric/emergency-access';
import { EmrIndex } from '../src/fabric/emr-index';
import { ConsortiumSettingsClient } from '../src/fabric/consortium-settings';
import { KeyCentreRegistry } from '../src/fabric/key-centre-registry';
import { loadProfile } from '../src/fabric/profile';
import { trustedCasOf } from '../src/services/auth';
import { HONEST, type DkgBehaviour, type DkgBoardClient } from '../src/services/dkg-round';
import { KeyGenerationCentreService } from '../src/services/kgc-service';
import type { Cheat, CentreConfig } from './dkg-centres';

const off = (s: PrivateShare): PrivateShare => ({ s: s.s + 1n, b: s.b });
const BEHAVIOURS: Record<Cheat, DkgBehaviour> = {
  // Every centre gets a share off the commitments, and each complaint a wrong answer.
  'inconsistent-shares': { ...HONEST, shareFor: (_to, s) => off(s), answerFor: (_to, s) => off(s) },
  // Feldman commitments of another polynomial than the one dealt.
  'wrong-feldman': { ...HONEST, feldman: (c) => c.map((p) => p.add(G1.BASE)) },
  // Deals its commitments, then serves no share and says nothing more (see `board` below).
  silent: { ...HONEST, shareFor: () => undefined, answerFor: () => undefined },
};
const never = () => new Promise<never>(() => undefined);

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]!) as CentreConfig;
  await ready();
  const profile = loadProfile();
  const connection = connectGateway({ org: c.org, user: c.user, profile });
  const registry = new KeyCentreRegistry(connection);
  mkdirSync(c.stateDir, { recursive: true, mode: 0o700 });
  const silent = c.cheat === 'silent';
  const board: DkgBoardClient = {
    postDkg: (m) => (silent && m.body.phase !== 'commitments' ? never() : registry.postDkg(m)),
    closeDkgPhase: (dkgId, phase, index) => (silent ? never() : registry.closeDkgPhase(dkgId, phase, index)),
    readDkg: (dkgId) => registry.readDkg(dkgId),
  };
  const service = new KeyGenerationCentreService(
    {
      index: c.index,
      n: c.n,
      threshold: c.threshold,
      port: c.port,
      endpoint: `http://127.0.0.1:${c.port}`,
      peers: new Map(c.members.map(([i, url]) => [i, url])),
      memberOf: new Map(c.members.map(([i, , who]) => [i, who])),
      dkgId: c.dkgId,
      dkgPhaseMs: c.phaseMs,
      stateDir: c.stateDir,
      trust: trustedCasOf(profile),
    },
    { signer: connection, registry: { list: () => registry.list(), register: (input) => registry.register(input), ...board }, settings: () => new ConsortiumSettingsClient(connection).read(), consents: new ConsentLedger(connection), records: new EmrIndex(connection), emergencies: new EmergencyAccess(connection) },
    (line) => process.stderr.write(`[centre ${c.index}] ${line}\n`),
    c.cheat ? BEHAVIOURS[c.cheat] : HONEST,
  );
  await service.listen(); // serving shares before anyone deals
  await new Promise((r) => setTimeout(r, Math.max(0, c.startAt - Date.now())));
  const t0 = performance.now();
  const outcome = await service.runDkg(); // a silent centre never gets past its commitments: the test stops it
  const realA0 = toBase64url(service['round']!.centre.feldman()[0]!.toBytes());
  process.stdout.write(`${JSON.stringify({ index: c.index, outcome, realA0, ms: performance.now() - t0 })}\n`);
  service.close();
  connection.close();
  process.exit(0);
}

main().catch((err: Error) => {
  process.stdout.write(`${JSON.stringify({ error: err.message })}\n`);
  process.exit(1);
});
