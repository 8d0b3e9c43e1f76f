/**
 * npm run privacy:audit [-- --org HospitalB] [--workload [--blind] [--pad] [--unlink]] [--json] [--out FILE] [--profile DIR]
 *
 * Plays a curious member of the consortium (docs/privacy.md): with nothing but its own
 * org's admin identity and its own peer, it reads every block of the channel and reports
 * what it reconstructs per patient pseudonym, which records it ties to one patient, and what
 * sizes and timing add. Facts its org is a party to are counted apart from the leak.
 * `--workload` first runs workload.ts, a fixed clinical workload, on the network; with
 * `--blind`, its records and consents have their categories blinded; with `--pad`, its
 * contents are padded to their size classes; with `--unlink`, its records are filed unlinked.
 */
import { writeFileSync } from 'node:fs';
import { enrollPatient, liveOptions } from '../bench/live-options';
import { loadModules } from '../bench/sdk-modules';
import type { EmrClient } from '../src';
import { readChannel } from './ledger-view';
import { FIELDS, buildReport, type PrivacyReport } from './profiles';
import { runWorkload } from './workload';

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};

function text(r: PrivacyReport): string {
  const pct = (n: number) => (r.pseudonyms ? `${((100 * n) / r.pseudonyms).toFixed(0)}%` : '-');
  const lines = [
    `curious member ${r.auditor}: ${r.transactions} transactions, ${r.pseudonyms} patient pseudonyms`,
    '',
    'what it learns as a non-party (pseudonyms for which it recovers the field):',
    ...FIELDS.map((f) => `  ${f.padEnd(18)} ${String(r.fieldsRecovered[f]).padStart(6)}  ${pct(r.fieldsRecovered[f])}`),
    `  mean fields per pseudonym: ${r.meanFieldsPerPseudonym.toFixed(2)} of ${FIELDS.length}`,
    '',
    `linkage: ${r.linkage.records} records; ${r.linkage.linkablePairs} pairs tied to one patient that it is not a party to both of (${r.linkage.crossHospitalPairs} across two hospitals); ${r.linkage.pseudonymsWithIdentity} pseudonyms tied to the patient's enrollment id`,
    `  records filed unlinked: ${r.linkage.unlinkedRecords}, of which ${r.linkage.unlinkedTied} tied to a patient (by an access, a consent or his own transaction)`,
    `  if records named per-hospital pseudonyms (what-if): ${r.linkage.perHospitalPseudonyms.linkablePairs} pairs still tied (${r.linkage.perHospitalPseudonyms.crossHospitalPairs} across two hospitals); per-record ones: ${r.linkage.perRecordPseudonyms.linkablePairs} (${r.linkage.perRecordPseudonyms.crossHospitalPairs}), by the patient's own transactions and the accesses`,
    `sizes and timing: ${r.sizesAndTiming.recordsWithSize} record sizes in the clear (${r.sizesAndTiming.distinctSizes} distinct, ${r.sizesAndTiming.largeRecords} over 1 MiB), ${r.sizesAndTiming.visits} visits inferred from bursts of uploads`,
  ];
  const sample = [...r.profiles].sort((a, b) => Object.keys(b.nonParty).length - Object.keys(a.nonParty).length).slice(0, 3);
  for (const p of sample) {
    lines.push('', `pseudonym ${p.pseudonym.slice(0, 16)}… (${p.records} records, ${p.visits} visits, ${p.firstSeen} … ${p.lastSeen}):`);
    for (const f of FIELDS.filter((x) => x !== 'timeline' && p.nonParty[x]?.length)) {
      const values = p.nonParty[f]!;
      lines.push(`  ${f.padEnd(18)} ${values.slice(0, 6).join(', ')}${values.length > 6 ? ` … (${values.length})` : ''}`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const org = option('org') ?? 'HospitalB';
  const { networkDir, json } = liveOptions(argv);
  const { sdk } = await loadModules();
  const profile = sdk.loadProfile(networkDir);
  const mspId = profile.orgs[org]?.mspId;
  if (!mspId) throw new Error(`--org ${org}: not an org of ${networkDir}/network.json (${Object.keys(profile.orgs).join(', ')})`);
  if (argv.includes('--workload')) {
    const clients: EmrClient[] = [];
    const as = (o: string, user: string) => {
      const c = sdk.EmrClient.connect({ org: o, user, profile: networkDir }); // read again: the workload enrolls patients
      clients.push(c);
      return c;
    };
    try {
      await runWorkload({ as, enrollPatient: (o, user) => enrollPatient(networkDir, user, o) }, (line) => console.error(line), { blind: argv.includes('--blind'), pad: argv.includes('--pad'), unlink: argv.includes('--unlink') });
    } finally {
      for (const c of clients) c.close();
    }
  }
  const connection = sdk.connectGateway({ org, user: 'admin', profile });
  try {
    const { height, txs } = await readChannel(connection, profile.channel, profile.chaincode);
    const report = buildReport(txs, mspId);
    const out = option('out');
    if (out) writeFileSync(out, `${JSON.stringify({ height, ...report }, null, 2)}\n`);
    if (json) console.log(JSON.stringify({ height, ...report }, null, 2));
    else console.log(`${text(report)}\n\n(${height} blocks read from ${org}'s peer${out ? `; the full report is in ${out}` : ''})`);
  } finally {
    connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
