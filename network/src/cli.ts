/**
 * network — start, stop and inspect the native Fabric network.
 *   up       start everything, or resume a network that was started before on its data
 *            (no-op when already up):
 *            up [--ordering etcdraft|bft|drkpbft] [--orderers N] [--wan] [--deliver-proxies]
 *               (default EMR_ORDERING / EMR_ORDERERS / EMR_WAN / EMR_DELIVER_PROXIES)
 *   down     stop every process we started, by pid; all state is kept for the next `up`
 *   reset    say what would be deleted; with --yes, stop everything and delete all state
 *   stop     stop one node, keeping its data: stop <node> (e.g. peer0.hospitala, orderer2, kubo-HospitalA)
 *   start    start a stopped node again on its data: start <node>
 *   backup   one member org's own state, its nodes stopped for the copy: backup <org> [--to file.tar.gz]
 *   restore  an org's state from its backup; its peer catches up from the orderers: restore <org> --from file.tar.gz
 *   status   the ordering service and its leader, processes and health of every node (--json)
 *   logs     list log files, or print one: logs <name> [--lines N]
 *   enroll   onboard a user on the running network: enroll --org <org> --user <id> --role <role> [--json]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { backup, restore } from './backup';
import { down, enroll, reset, resetScope, startNode, status, stopNode, up } from './network';
import { upRequest } from './ordering';
import { state, stateDir } from './paths';
import { logFile } from './processes';

/** A `--name value` option; undefined when absent, an error when the value is missing. */
function option(rest: string[], name: string): string | undefined {
  const i = rest.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = rest[i + 1];
  if (!v || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      await up(console.log, upRequest(rest));
      return 0;
    case 'down':
      await down();
      return 0;
    case 'reset': {
      const scope = resetScope();
      if (scope.length === 0) {
        console.log(`nothing to delete (no network state in ${stateDir})`);
        return 0;
      }
      if (!rest.includes('--yes')) {
        console.log(`reset stops the network and deletes, for good:\n${scope.map((d) => `  - ${d}`).join('\n')}\nrun \`reset --yes\` to do it (\`down\` stops it and keeps everything)`);
        return 2;
      }
      await reset(console.log);
      return 0;
    }
    case 'stop':
    case 'start': {
      const node = rest.find((a) => !a.startsWith('--'));
      if (!node) throw new Error(`${command} needs a node name, e.g. \`${command} peer0.hospitala\` (see \`status\`)`);
      const done = command === 'stop' ? await stopNode(node) : await startNode(node);
      console.log(done.length ? `${command === 'stop' ? 'stopped' : 'started and healthy'}: ${done.join(', ')}` : `${node} was already running`);
      return 0;
    }
    case 'backup': {
      const org = rest.find((a) => !a.startsWith('--') && a !== option(rest, 'to'));
      if (!org) throw new Error('backup needs an org, e.g. `backup HospitalA [--to file.tar.gz]`');
      const done = await backup(org, option(rest, 'to'));
      console.log(`${org}'s state (${done.manifest.paths.join(', ')}) backed up in ${done.seconds.toFixed(1)} s to ${done.file} (0600: it holds the org's keys)`);
      return 0;
    }
    case 'restore': {
      const from = option(rest, 'from');
      const org = rest.find((a) => !a.startsWith('--') && a !== from);
      if (!org || !from) throw new Error('restore needs an org and a backup, e.g. `restore HospitalA --from file.tar.gz`');
      const done = await restore(org, from);
      console.log(`${org} restored from its backup of ${done.manifest.takenAt} in ${done.seconds.toFixed(1)} s; its peer catches up from the orderers. Its state before the restore was kept: ${done.movedAside.join(', ') || 'none'}`);
      return 0;
    }
    case 'status': {
      const s = await status();
      if (rest.includes('--json')) console.log(JSON.stringify(s, null, 2));
      else {
        console.log(`network: ${s.up ? 'UP' : 'DOWN'}`);
        const c = s.consensus;
        if (c) {
          const seats = c.orderers.map(
            (o) =>
              `${o.name}${o.reachable ? '' : ' (unreachable)'}${o.committedBlock !== undefined ? ` block ${o.committedBlock}` : ''}` +
              `${o.view !== undefined ? ` view ${o.view}` : ''}${o.seatHolder ? ' (seat)' : ''}${o.replicaLinked === false ? ' (replica unlinked)' : ''}`,
          );
          console.log(`ordering: ${c.ordering} (channel consensus type ${c.consensusType}), ${c.setting.orderers} orderers; leader ${c.leader ?? 'none agreed'}`);
          console.log(`  consenters: ${seats.join(', ')}`);
        }
        for (const l of s.lines) console.log(`  ${l.name.padEnd(28)} ${l.process.padEnd(12)} ${(l.pid ?? '').toString().padEnd(8)} ${l.healthy ? 'healthy' : '-'}`);
      }
      return s.up ? 0 : 1;
    }
    case 'logs': {
      const name = rest.find((a) => !a.startsWith('--'));
      if (!name) {
        const files = existsSync(state.logs) ? readdirSync(state.logs) : [];
        console.log(files.length ? files.map((f) => `  ${path.basename(f, '.log')}`).join('\n') : 'no logs (the network has not run since the last reset)');
        return 0;
      }
      const file = logFile(name);
      if (!existsSync(file)) throw new Error(`no log named '${name}' in ${state.logs}`);
      const i = rest.indexOf('--lines');
      const lines = i >= 0 ? Number(rest[i + 1]) : 50;
      console.log(readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n'));
      return 0;
    }
    case 'enroll': {
      const opt = (name: string) => {
        const v = option(rest, name);
        if (!v) throw new Error(`enroll needs --${name} <value> (enroll --org <org> --user <id> --role <role>)`);
        return v;
      };
      const done = await enroll(opt('org'), opt('user'), opt('role'));
      if (rest.includes('--json')) console.log(JSON.stringify(done, null, 2));
      else {
        const as = done.role === 'patient' ? `${done.user} (under an opaque enrollment id, so that his transactions name nobody)` : `${done.user}@${done.mspId}`;
        console.log(`${as} enrolled at ${done.org}'s CA as ${done.role}${done.listed ? ', listed in the directory' : ''}; in the wallet as --org ${done.org} --user ${done.user}`);
        if (done.role === 'patient') console.log(`next: npm run -s emr -- --org ${done.org} --user ${done.user} patient register`);
      }
      return 0;
    }
    default:
      console.error('usage: network <up|down|reset|stop|start|backup|restore|status|logs|enroll> [options]');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`network: ${err.message}`);
    process.exit(1);
  },
);
