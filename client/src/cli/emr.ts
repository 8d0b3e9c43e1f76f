#!/usr/bin/env node
/**
 * `emr`: the command line over the SDK's EmrClient. Every command connects as one enrolled
 * identity (`--org`, `--user`), runs one flow and closes the connection. Option values are
 * checked before connecting, and so is what the caller's role (from the connection profile)
 * rules out: `fetch` without --consent/--grant, and `patient register`/`show`, for anyone but
 * a patient. Output is human text, or with `--json` exactly one JSON document
 * on stdout (an error too, as `{"error": {...}}`); the exit code is 1 on any error.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { encodeParty as party, registrationActive, type Consent, type EmrRecord, type LogEntry, type PatientRegistration, type Registration } from '@emr/protocol';
import { AccessDeniedError } from '../fabric/consent-ledger';
import { allPages } from '../fabric/contract-client';
import { ChaincodeRejectedError, ConflictError, NotFoundError } from '../fabric/errors';
import { EmrClient, type Timings, type UploadResult } from '../sharing/emr-client';
import {
  UsageError,
  globalOptions,
  grantInput,
  parseCategory,
  parseParty,
  parsePseudonym,
  parsePurpose,
  parseRecordId,
  parseRecordType,
  parseTime,
  parseVia,
  profileRole,
  profileUsers,
  requireViaUnlessPatient,
  type GlobalOptions,
  type GrantOptions,
} from './options';
import { ProgressBar, formatBytes, progressStream } from './progress';

/** Where a run reads and writes (process streams by default; tests pass their own). */
export interface Io {
  stdout: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };
  stderr: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** The directory of this script: the default network directory is found from it. */
  scriptDir: string;
}

/** A failure with more to say in the JSON error document (e.g. what a batch did before it). */
class Failure extends Error {
  constructor(
    readonly error: unknown,
    readonly extra: Record<string, unknown>,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}


const roundTimings = (t: Timings): Record<string, number> => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));

const formatTimings = (t: Timings): string =>
  Object.entries(t)
    .map(([k, v]) => `${k} ${Math.round(v)} ms`)
    .join(', ') || '-';

/** Aligned `key  value` lines; rows without a value are left out. */
function table(rows: [string, string | number | null | undefined][]): string {
  const present = rows.filter((r): r is [string, string | number] => r[1] !== undefined && r[1] !== null && r[1] !== '');
  const width = Math.max(0, ...present.map(([k]) => k.length));
  return present.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** The size of a regular file, or a UsageError naming the argument. */
function regularFileSize(file: string, what: string): number {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new UsageError(`${what} ${JSON.stringify(file)}: no such file`, what);
  }
  if (!stat.isFile()) throw new UsageError(`${what} ${JSON.stringify(file)} is not a regular file`, what);
  return stat.size;
}

/** The cause worth showing: not the raw gateway error a chaincode rejection was parsed from. */
function shownCause(e: Error): Error | undefined {
  return e.cause instanceof Error && !(e instanceof ChaincodeRejectedError) && !e.message.includes(e.cause.message) ? e.cause : undefined;
}

/** The error as JSON: its class name, message and whatever fields its class adds. */
export function errorDocument(err: unknown, extra: Record<string, unknown> = {}): { error: Record<string, unknown> } {
  const e = err instanceof Error ? err : new Error(String(err));
  const doc: Record<string, unknown> = { name: e.name, message: e.message };
  for (const [key, value] of Object.entries(e)) {
    if (key === 'name' || key === 'message' || key === 'cause' || value === undefined) continue;
    if (key === 'entry' && value && typeof value === 'object') doc.entryId = (value as LogEntry).entryId;
    else doc[key] = value;
  }
  const cause = shownCause(e);
  if (cause) doc.cause = { name: cause.name, message: cause.message };
  return { error: { ...doc, ...extra } };
}

/** The human error line(s) for stderr: `emr: <ClassName>: <message>`. */
export function errorText(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  let text = `emr: ${e.name}: ${e.message}`;
  if (e instanceof AccessDeniedError) text += ` [reason: ${e.reason}; the denial is logged as entry ${e.entry.entryId}]`;
  const cause = shownCause(e);
  if (cause) text += `\n  caused by ${cause.name}: ${cause.message}`;
  return text;
}

/** One command's run: the validated global options and how to answer. */
class Session {
  constructor(
    readonly options: GlobalOptions,
    readonly io: Io,
  ) {}

  /** The progress bar's stream (none with --json or when stderr is not a terminal). */
  bar(): ProgressBar {
    return new ProgressBar(progressStream(this.options.json, this.io.stderr));
  }

  /** Writes the command's answer: the JSON document, or the human text. */
  emit(doc: unknown, human: string | (() => string)): void {
    if (this.options.json) this.io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else {
      const text = typeof human === 'function' ? human() : human;
      if (text !== '') this.io.stdout.write(`${text}\n`);
    }
  }

  /** The caller's role from the connection profile (undefined if it cannot be read). */
  role(): string | undefined {
    return profileRole(this.options);
  }

  /** Human-only remarks, to stderr. */
  note(text: string): void {
    if (!this.options.json) this.io.stderr.write(`${text}\n`);
  }

  /** Connects, runs the work and always closes the connection (also on Ctrl-C). */
  async connect<T>(work: (client: EmrClient) => Promise<T>): Promise<T> {
    const client = EmrClient.connect({ org: this.options.org, user: this.options.user, profile: this.options.network });
    const interrupted = () => {
      client.close();
      this.io.stderr.write('\nemr: interrupted\n');
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    try {
      return await work(client);
    } finally {
      process.off('SIGINT', interrupted);
      client.close();
    }
  }
}

/** The CLI reports an upload once its replica is pinned too (or says why there is none). */
async function withReplica(r: UploadResult): Promise<UploadResult> {
  const replication = await r.replicated;
  if (replication.error) process.stderr.write(`emr: warning: ${replication.error.message}\n`);
  return { ...r, pinnedOn: replication.pinnedOn };
}

function uploadSummary(r: UploadResult) {
  return { recordId: r.record.recordId, version: r.record.version, cid: r.record.cid, pinnedOn: r.pinnedOn, sha256: r.record.ciphertextSha256, size: r.record.size, timings: roundTimings(r.timings) };
}

function uploadText(r: UploadResult): string {
  return table([
    ['record', r.record.recordId],
    ['version', r.record.version],
    ['supersedes', r.record.supersedes],
    ['type', r.record.type],
    ['category', r.record.category],
    ['cid', r.record.cid],
    ['pinned on', r.pinnedOn.join(', ')],
    ['sha256', `${r.record.ciphertextSha256} (ciphertext)`],
    ['size', `${formatBytes(r.record.size)} (${r.record.size} bytes)`],
    ['timings', formatTimings(r.timings)],
  ]);
}

const granteeText = (g: Consent['grantee']): string => (g.kind === 'identity' ? party(g) : g.kind === 'role' ? `role ${g.role} at ${g.mspId}` : `org ${g.mspId}`);

const scopeText = (s: Consent['scope']): string =>
  [s.category && `category ${s.category}`, s.type && `type ${s.type}`, s.recordIds && `records ${s.recordIds.join(', ')}`].filter(Boolean).join('; ');

function consentText(c: Consent): string {
  const scope = scopeText(c.scope);
  const grantee = granteeText(c.grantee);
  const pending = c.requiredApprovals.map((r) => `${r.count} ${r.role}`).join(', ');
  return table([
    ['consent', c.consentId],
    ['status', c.status === 'pending' ? `pending (needs approval by ${pending}; ${c.approvals.length} given)` : c.status],
    ['patient', c.patientPseudonym],
    ['grantee', grantee],
    ['purpose', c.purpose],
    ['scope', scope],
    ['valid', `${c.validFrom} to ${c.validUntil}`],
    ['accesses', `${c.accessCount} of ${c.maxAccesses}`],
    ['hop limit', c.hopLimit],
    ['revoked at', c.revokedAt],
  ]);
}

function grantText(g: Registration): string {
  return `${g.grantId} (${g.type}, hop ${g.hop}${g.parentGrantId ? ` under ${g.parentGrantId}` : ''}, to ${party(g.delegatee)}, proxies ${g.proxies.map(party).join(' ')}, threshold ${g.threshold}, expires ${g.expiresAt})`;
}

function entryText(e: LogEntry): string {
  return table([
    ['entry', e.entryId],
    ['action', e.action],
    ['outcome', e.outcome],
    ['reason', e.reason],
    ['agent', party(e.agent)],
    ['record', e.recordId],
    ['consent', e.consentId],
    ['grant', e.grantId],
    ['purpose', e.purpose],
    ['recorded', e.recorded],
    ['tx', e.txId],
  ]);
}

/** Rows under a header row, in aligned columns (the last column is not padded). */
export function columns(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** The audit trail: a header row, then one line per log entry (time, action, outcome, agent, purpose, record, consent, reason). */
export function auditLines(entries: LogEntry[]): string[] {
  if (entries.length === 0) return [];
  return columns(
    ['TIME', 'ACTION', 'OUTCOME', 'AGENT', 'PURPOSE', 'RECORD', 'CONSENT', 'REASON'],
    entries.map((e) => [e.recorded, e.action, e.outcome, party(e.agent), e.purpose ?? '-', e.recordId ?? '-', e.consentId ?? e.emergencyId ?? '-', e.reason ?? '-']),
  );
}

/** A record as `emr records` lists it: the index entry and which later version replaced it. */
export type ListedRecord = EmrRecord & { supersededBy: string | null };

/** A patient's records, oldest first, each marked with the record superseding it (if listed). */
export function listedRecords(records: EmrRecord[]): ListedRecord[] {
  const successor = new Map(records.filter((r) => r.supersedes).map((r) => [r.supersedes!, r.recordId]));
  return [...records]
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.recordId.localeCompare(b.recordId))
    .map((r) => ({ ...r, supersededBy: successor.get(r.recordId) ?? null }));
}

/** `emr records`: a header row, then one line per record. */
export function recordLines(records: ListedRecord[]): string[] {
  if (records.length === 0) return [];
  return columns(
    ['RECORD', 'VERSION', 'CATEGORY', 'TYPE', 'OWNER', 'SIZE', 'CREATED', 'MARKS'],
    records.map((r) => [
      r.recordId,
      String(r.version),
      r.category,
      r.type,
      r.ownerMsp,
      formatBytes(r.size),
      r.createdAt,
      [r.erased ? `erased ${r.erased.erasedAt}` : '', r.supersededBy ? `superseded by ${r.supersededBy}` : ''].filter(Boolean).join(', ') || '-',
    ]),
  );
}

/**
 * What a consent allows now: `revoked` and `pending` from its status; an active one is
 * `not-yet-valid` before its window, `expired` after it (the window is [validFrom, validUntil)),
 * `exhausted` when every access is used, else `active` (the chaincode's order of checks).
 */
export type ConsentState = 'active' | 'pending' | 'revoked' | 'not-yet-valid' | 'expired' | 'exhausted';

export function consentState(c: Consent, now: Date): ConsentState {
  if (c.status === 'revoked') return 'revoked';
  if (c.status === 'pending') return 'pending';
  const t = now.getTime();
  if (t < Date.parse(c.validFrom)) return 'not-yet-valid';
  if (t >= Date.parse(c.validUntil)) return 'expired';
  if (c.accessCount >= c.maxAccesses) return 'exhausted';
  return 'active';
}

/** A grant as `emr consents` lists it: the public registration's summary and whether it is usable now. */
export interface ListedGrant {
  grantId: string;
  hop: number;
  parentGrantId: string | null;
  delegator: string;
  delegatee: string;
  type: string;
  threshold: number;
  proxies: string[];
  expiresAt: string;
  createdAt: string;
  active: boolean;
}

/** A consent as `emr consents` lists it. */
export type ListedConsent = Consent & { state: ConsentState; usesLeft: number; grants: ListedGrant[] };

export function listedConsent(c: Consent, grants: Registration[], now: Date): ListedConsent {
  return {
    ...c,
    state: consentState(c, now),
    usesLeft: Math.max(0, c.maxAccesses - c.accessCount),
    grants: grants
      .map((g) => ({
        grantId: g.grantId,
        hop: g.hop,
        parentGrantId: g.parentGrantId,
        delegator: party(g.delegator),
        delegatee: party(g.delegatee),
        type: g.type,
        threshold: g.threshold,
        proxies: g.proxies.map(party),
        expiresAt: g.expiresAt,
        createdAt: g.createdAt,
        active: registrationActive(g, c, now),
      }))
      .sort((a, b) => a.hop - b.hop || a.createdAt.localeCompare(b.createdAt)),
  };
}

/** One consent of `emr consents`: a block of aligned lines, its grants one per line at the end. */
export function consentBlock(c: ListedConsent): string {
  const state =
    c.state === 'pending'
      ? `pending (needs approval by ${c.requiredApprovals.map((r) => `${r.count} ${r.role}`).join(', ')}; ${c.approvals.length} given)`
      : c.state === 'revoked'
        ? `revoked at ${c.revokedAt}`
        : c.state === c.status
          ? c.state
          : `${c.state} (status ${c.status})`;
  const grantLines = c.grants.map(
    (g) => `${g.grantId}  hop ${g.hop}${g.parentGrantId ? ` under ${g.parentGrantId}` : ''}  to ${g.delegatee}  ${g.type}  ${g.active ? 'active' : 'inactive'}  expires ${g.expiresAt}`,
  );
  const rows: [string, string | number][] = [
    ['consent', c.consentId],
    ['state', state],
    ['uses left', `${c.usesLeft} of ${c.maxAccesses}`],
    ['grantee', granteeText(c.grantee)],
    ['purpose', c.purpose],
    ['scope', scopeText(c.scope)],
    ['valid', `${c.validFrom} to ${c.validUntil}`],
    ['hop limit', c.hopLimit],
    ['grants', grantLines[0] ?? 'none'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ...grantLines.slice(1).map((l) => `${' '.repeat(width)}  ${l}`)].join('\n');
}

/** `emr patient register` / `show`: the registration, the full pseudonym first. */
export function registrationText(pseudonym: string, r: PatientRegistration | null): string {
  return table([
    ['pseudonym', pseudonym],
    ['registered', r ? 'yes' : 'no'],
    ['home MSP', r?.homeMsp],
    ['registered at', r?.registeredAt],
    ['tx', r?.txId],
  ]);
}

function recordText(r: EmrRecord): string {
  return table([
    ['record', r.recordId],
    ['version', r.version],
    ['type', r.type],
    ['category', r.category],
    ['cid', r.cid],
    ['erased at', r.erased?.erasedAt],
  ]);
}

/** A UsageError, before connecting, when the profile lists the caller with another role than patient. */
function requirePatient(s: Session, command: string): void {
  const role = s.role();
  if (role !== undefined && role !== 'patient') {
    throw new UsageError(`${command} is run by the patient himself (e.g. --org ${s.options.org} --user ${profileUsers(s.options, 'patient')[0] ?? 'patient1'}); ${s.options.user} is a ${role}`, '--user');
  }
}

/** What a newly registered patient does next (stderr, human mode only). */
function nextSteps(s: Session, p: string): string {
  const emr = 'npm run -s emr --';
  const doctor = profileUsers(s.options, 'doctor')[0] ?? 'doctor1';
  return [
    'next steps:',
    `  P=${p}`,
    `  a doctor of your hospital uploads a record:  ${emr} --org ${s.options.org} --user ${doctor} upload ecg.json --patient $P --category cardiology/ecg`,
    `  you list your records:                       ${emr} --org ${s.options.org} --user ${s.options.user} records --patient $P`,
    `  you grant a consent:                         ${emr} --org ${s.options.org} --user ${s.options.user} grant --patient $P --grantee researcher1@ResearchInstituteMSP --category cardiology --purpose research`,
    `  you list your consents and the audit trail:  ${emr} --org ${s.options.org} --user ${s.options.user} consents --patient $P; … audit $P`,
  ].join('\n');
}

/** Builds the program; `globals` hands the validated global options to the commands. */
export function buildProgram(io: Io): Command {
  const program = new Command('emr');
  program
    .description('Share electronic medical records over the EMR Fabric network (one flow of the EmrClient SDK per command).')
    .requiredOption('--org <org>', 'the org to act for, e.g. HospitalA, HospitalB, ResearchInstitute')
    .requiredOption('--user <user>', 'the enrolled identity (wallet entry) of that org, e.g. doctor1, patient1, researcher1')
    .option('--network <dir>', 'the directory holding network.json (default: $EMR_NETWORK_DIR, else network/.run of this checkout)')
    .option('--json', 'machine-readable output: one JSON document on stdout, errors as {"error": {...}}')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: () => undefined, // main() reports usage errors in the run's format
    });

  const session = () => new Session(globalOptions(program.opts(), io.env, io.scriptDir), io);

  program
    .command('whoami')
    .description('the caller as the chaincode reads it from the certificate')
    .action(async () => {
      const s = session();
      const me = await s.connect((c) => c.index.whoAmI());
      s.emit(me, `${party(me)} (${me.role})`);
    });

  program
    .command('upload')
    .description('encrypt a file as it streams, store it on IPFS and index it on chain')
    .argument('<file>', 'the record file (e.g. a FHIR bundle)')
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym (64 hex characters)")
    .requiredOption('--category <category>', 'department path, e.g. cardiology/ecg')
    .option('--type <type>', 'sharable or non-sharable (default sharable)')
    .option('--record-id <id>', 'the record id (default a fresh rec-<uuid>)')
    .option('--supersedes <id>', 'the record this one is a new version of')
    .action(async (file: string, o: { patient: string; category: string; type?: string; recordId?: string; supersedes?: string }) => {
      const s = session();
      const input = {
        patientPseudonym: parsePseudonym(o.patient),
        category: parseCategory(o.category),
        ...(o.type !== undefined ? { type: parseRecordType(o.type) } : {}),
        ...(o.recordId !== undefined ? { recordId: parseRecordId(o.recordId, '--record-id') } : {}),
        ...(o.supersedes !== undefined ? { supersedes: parseRecordId(o.supersedes, '--supersedes') } : {}),
      };
      const size = regularFileSize(file, '<file>');
      const result = await s.connect(async (c) => {
        const bar = s.bar();
        try {
          const r = await withReplica(await c.uploadRecord({ ...input, source: file, onProgress: (p) => bar.update(p.bytes, p.total ?? size) }));
          bar.finish();
          return r;
        } catch (err) {
          bar.clear();
          throw err;
        }
      });
      s.emit({ ...uploadSummary(result), record: result.record }, () => uploadText(result));
    });

  program
    .command('upload-batch')
    .description('upload every regular file of a directory, one after another')
    .argument('<dir>', 'the directory')
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym (64 hex characters)")
    .requiredOption('--category <category>', 'department path, e.g. cardiology/ecg')
    .option('--type <type>', 'sharable or non-sharable (default sharable)')
    .action(async (dir: string, o: { patient: string; category: string; type?: string }) => {
      const s = session();
      const patientPseudonym = parsePseudonym(o.patient);
      const category = parseCategory(o.category);
      const type = o.type !== undefined ? parseRecordType(o.type) : undefined;
      let names: string[];
      try {
        names = readdirSync(dir, { withFileTypes: true })
          .filter((d) => d.isFile())
          .map((d) => d.name)
          .sort();
      } catch (err) {
        throw new UsageError(`<dir> ${JSON.stringify(dir)}: ${(err as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'not a directory' : 'cannot be read'} (${(err as Error).message})`, '<dir>');
      }
      const files = names.map((name) => ({ name, file: path.join(dir, name), size: regularFileSize(path.join(dir, name), '<dir>') }));
      if (files.length === 0) {
        s.note(`emr: no regular files in ${dir}`);
        s.emit([], '');
        return;
      }
      const totalBytes = files.reduce((n, f) => n + f.size, 0);
      const done: (ReturnType<typeof uploadSummary> & { file: string })[] = [];
      await s.connect(async (c) => {
        const bar = s.bar();
        let doneBytes = 0;
        for (const f of files) {
          const label = `${done.length}/${files.length} files`;
          bar.update(doneBytes, totalBytes, label, true);
          let r: UploadResult;
          try {
            r = await withReplica(await c.uploadRecord({ patientPseudonym, category, ...(type ? { type } : {}), source: f.file, onProgress: (p) => bar.update(doneBytes + p.bytes, totalBytes, label) }));
          } catch (err) {
            bar.clear();
            throw new Failure(err, { file: f.file, uploaded: done });
          }
          doneBytes += f.size;
          const summary = { file: f.file, ...uploadSummary(r) };
          done.push(summary);
          if (!s.options.json) {
            bar.clear();
            s.io.stdout.write(`${f.file}  ${summary.recordId}  ${summary.cid}  ${formatBytes(f.size)}  ${summary.pinnedOn.join(',')}\n`);
          }
        }
        bar.update(doneBytes, totalBytes, `${done.length}/${files.length} files`);
        bar.finish();
      });
      if (s.options.json) s.emit(done, '');
    });

  program
    .command('grant')
    .description('the patient grants a consent to one identity (with re-encryption grants for his records in scope)')
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym")
    .requiredOption('--grantee <identity>', '<enrollmentId>@<MSPID>, e.g. researcher1@ResearchInstituteMSP')
    .requiredOption('--purpose <purpose>', 'treatment, research, emergency, payment or audit')
    .option('--category <category>', 'scope: a department subtree')
    .option('--type <type>', 'scope: sharable or non-sharable')
    .option('--records <ids>', 'scope: record ids, comma-separated')
    .option('--valid-from <iso>', 'start (default: a minute ago)')
    .option('--valid-until <iso>', 'end (default: 24 hours from now)')
    .option('--max-accesses <n>', 'how many accesses it allows (default 10)')
    .option('--hop-limit <n>', 'how far it may be re-delegated; 1 = the grantee only (default 1)')
    .action(async (o: GrantOptions) => {
      const s = session();
      const input = grantInput(o);
      const { consent, grants } = await s.connect((c) => c.grantConsent(input));
      s.emit({ consentId: consent.consentId, status: consent.status, grantIds: grants.map((g) => g.grantId), consent, grants }, () =>
        [
          consentText(consent),
          ...(grants.length > 0
            ? grants.map((g) => `grant      ${grantText(g)}`)
            : ['grants     none yet: no sharable record of the patient is in scope; after uploading one, run `emr extend ' + consent.consentId + '`']),
        ].join('\n'),
      );
    });

  program
    .command('extend')
    .description("the patient makes the grants a consent lacks for records indexed since it was granted")
    .argument('<consentId>', 'the consent')
    .action(async (consentId: string) => {
      const s = session();
      const id = parseRecordId(consentId, '<consentId>');
      const grants = await s.connect((c) => c.extendGrants(id));
      s.emit(grants, () => (grants.length > 0 ? grants.map(grantText).join('\n') : 'no grants were missing'));
    });

  program
    .command('revoke')
    .description('the patient revokes a consent: every grant under it stops at once')
    .argument('<consentId>', 'the consent')
    .action(async (consentId: string) => {
      const s = session();
      const id = parseRecordId(consentId, '<consentId>');
      const consent = await s.connect((c) => c.revokeConsent(id));
      s.emit({ consentId: consent.consentId, status: consent.status, revokedAt: consent.revokedAt, consent }, () => consentText(consent));
    });

  program
    .command('request')
    .description('ask on chain to use a record, under a consent (its grantee) or through a grant (a delegatee)')
    .argument('<recordId>', 'the record')
    .option('--consent <consentId>', 'the consent naming you')
    .option('--grant <grantId>', 'the grant delegated to you')
    .requiredOption('--purpose <purpose>', 'treatment, research, emergency, payment or audit')
    .action(async (recordId: string, o: { consent?: string; grant?: string; purpose: string }) => {
      const s = session();
      const id = parseRecordId(recordId, '<recordId>');
      const via = parseVia(o, true)!;
      const purpose = parsePurpose(o.purpose);
      const entry = await s.connect((c) => c.requestAccess(id, via, purpose));
      s.emit({ entryId: entry.entryId, outcome: entry.outcome, entry }, () => entryText(entry));
    });

  program
    .command('fetch')
    .description('read a record: access on chain, verified proxy fragments, IPFS, SHA-256 check, decryption, receipt')
    .argument('<recordId>', 'the record')
    .option('--consent <consentId>', 'the consent naming you (a doctor or researcher needs this or --grant)')
    .option('--grant <grantId>', 'the grant delegated to you')
    .option('--purpose <purpose>', 'treatment, research, emergency, payment or audit (required with --consent or --grant)')
    .option('--out <file>', 'write the plaintext to this file (default: stdout; with --json only its size is reported)')
    .action(async (recordId: string, o: { consent?: string; grant?: string; purpose?: string; out?: string }) => {
      const s = session();
      const id = parseRecordId(recordId, '<recordId>');
      const via = parseVia(o, false);
      if (!via) requireViaUnlessPatient(via, s.role()); // before connecting: who may read without a consent
      // A patient reading his own record (no consent or grant) makes no request, so no purpose.
      const purpose = via || o.purpose !== undefined ? parsePurpose(o.purpose) : 'treatment';
      const out = o.out !== undefined && o.out !== '' ? path.resolve(o.out) : undefined;
      const result = await s.connect(async (c) => {
        const bar = s.bar();
        try {
          const r = await c.fetchRecord(id, via, { purpose, ...(out ? { to: out } : {}), onProgress: (p) => bar.update(p.bytes, p.total) });
          bar.finish();
          return r;
        } catch (err) {
          bar.clear();
          throw err;
        }
      });
      const doc = {
        recordId: result.record.recordId,
        version: result.record.version,
        bytes: result.bytes,
        ...(out ? { out } : {}),
        sha256: result.record.ciphertextSha256,
        entryId: result.entry?.entryId ?? null,
        receiptId: result.receipt?.entryId ?? null,
        timings: roundTimings(result.timings),
        record: result.record,
        entry: result.entry ?? null,
        receipt: result.receipt ?? null,
      };
      const summary = table([
        ['record', `${doc.recordId} (version ${doc.version}, ${result.record.type}, ${result.record.category})`],
        ['bytes', `${formatBytes(doc.bytes)} (${doc.bytes} bytes)`],
        ['written to', out],
        ['sha256', `${doc.sha256} (ciphertext, verified)`],
        ['access', doc.entryId],
        ['receipt', doc.receiptId],
        ['timings', formatTimings(result.timings)],
      ]);
      if (s.options.json || out) s.emit(doc, summary);
      else {
        // The plaintext is the output; the summary goes to stderr.
        await new Promise<void>((resolve, reject) => s.io.stdout.write(result.data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
        s.note(summary);
      }
    });

  program
    .command('delegate')
    .description('re-delegate a grant you hold (within the consent\'s hop limit)')
    .argument('<grantId>', 'the grant you hold')
    .requiredOption('--to <identity>', '<enrollmentId>@<MSPID> of the delegatee, e.g. specialist1@HospitalBMSP')
    .option('--expires <iso>', 'expiry (default: the parent grant\'s)')
    .action(async (grantId: string, o: { to: string; expires?: string }) => {
      const s = session();
      const id = parseRecordId(grantId, '<grantId>');
      const to = parseParty(o.to, '--to');
      const expires = o.expires !== undefined ? parseTime(o.expires, '--expires') : undefined;
      const g = await s.connect((c) => c.delegate(id, to, expires));
      s.emit({ grantId: g.grantId, hop: g.hop, parentGrantId: g.parentGrantId, expiresAt: g.expiresAt, registration: g }, () => `grant  ${grantText(g)}`);
    });

  program
    .command('switch-type')
    .description('the patient switches a record between sharable and non-sharable')
    .argument('<recordId>', 'the record')
    .argument('<type>', 'sharable or non-sharable')
    .action(async (recordId: string, type: string) => {
      const s = session();
      const id = parseRecordId(recordId, '<recordId>');
      const t = parseRecordType(type, '<type>');
      const record = await s.connect((c) => c.switchType(id, t));
      s.emit({ recordId: record.recordId, type: record.type, record }, () => recordText(record));
    });

  program
    .command('audit')
    .description("a patient's whole access log (emergency overrides first, then newest first): the patient or an admin of his home hospital")
    .argument('<pseudonym>', "the patient's pseudonym")
    .addHelpText('after', '\nColumns: TIME, ACTION, OUTCOME, AGENT, PURPOSE, RECORD, CONSENT (or emergency), REASON (of a denial). --json: the log entries as an array.')
    .action(async (pseudonym: string) => {
      const s = session();
      const p = parsePseudonym(pseudonym, '<pseudonym>');
      const entries = await s.connect((c) => c.auditTrail(p));
      s.emit(entries, () => auditLines(entries).join('\n'));
      if (entries.length === 0) s.note('emr: the log has no entries');
    });

  const patient = program.command('patient').description("the patient's own pseudonym: register it on chain, or show it");

  patient
    .command('register')
    .description('the patient (e.g. --org HospitalA --user patient1) registers the pseudonym derived from his own enrollment key, and prints it in full')
    .addHelpText(
      'after',
      [
        '',
        'Prints the full 64-hex pseudonym, the home MSP (the org whose CA enrolled you) and the transaction id;',
        'with --json the registration: {patientPseudonym, homeMsp, registeredAt, txId, alreadyRegistered}.',
        'Already registered: nothing is written, the existing registration is printed (alreadyRegistered: true),',
        'a note says so on stderr, and the exit code is 0. Only a patient can register, and only his own pseudonym.',
        '',
        'Example: P=$(emr --org HospitalA --user patient1 --json patient register | jq -r .patientPseudonym)',
      ].join('\n'),
    )
    .action(async () => {
      const s = session();
      requirePatient(s, 'patient register');
      const { registration, already } = await s.connect(async (c) => {
        try {
          return { registration: await c.registerPatient(), already: false };
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          return { registration: await c.consents.readPatient(c.ownPseudonym()), already: true };
        }
      });
      const p = registration.patientPseudonym;
      s.emit({ ...registration, alreadyRegistered: already }, () => registrationText(p, registration));
      s.note(already ? `emr: already registered (at ${registration.registeredAt}); nothing was written` : 'emr: registered');
      s.note(nextSteps(s, p));
    });

  patient
    .command('show')
    .description('the patient prints his own pseudonym (derived from his enrollment key) and whether it is registered')
    .addHelpText('after', '\n--json: {patientPseudonym, registered, registration} (registration null when not registered).')
    .action(async () => {
      const s = session();
      requirePatient(s, 'patient show');
      const { p, registration } = await s.connect(async (c) => {
        const p = c.ownPseudonym();
        try {
          return { p, registration: await c.consents.readPatient(p) };
        } catch (err) {
          if (err instanceof NotFoundError) return { p, registration: null };
          throw err;
        }
      });
      s.emit({ patientPseudonym: p, registered: registration !== null, registration }, () => registrationText(p, registration));
      if (!registration) s.note(`emr: not registered yet: emr --org ${s.options.org} --user ${s.options.user} patient register`);
    });

  program
    .command('records')
    .description("a patient's records as indexed on chain (any enrolled identity may list them; reading one needs a consent)")
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym (64 hex characters)")
    .addHelpText(
      'after',
      '\nColumns: RECORD, VERSION, CATEGORY, TYPE, OWNER (the hospital that uploaded it), SIZE (ciphertext), CREATED, MARKS (erased, superseded by a later version).\n--json: the records as an array, each with supersededBy (null when it is the latest version).',
    )
    .action(async (o: { patient: string }) => {
      const s = session();
      const p = parsePseudonym(o.patient);
      const records = listedRecords(await s.connect((c) => c.index.allRecordsByPatient(p)));
      s.emit(records, () => recordLines(records).join('\n'));
      if (records.length === 0) s.note('emr: no records are indexed for this pseudonym');
    });

  program
    .command('consents')
    .description("a patient's consents with their state, uses left and grants: the patient or an admin of his home hospital")
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym (64 hex characters)")
    .addHelpText(
      'after',
      [
        '',
        'state: active, pending (approvals needed), revoked, not-yet-valid, expired or exhausted (no uses left), as of now.',
        'Each grant: id, hop (and parent grant), delegatee, record type, active (usable now) or inactive, expiry.',
        '--json: the consents as an array, each with state, usesLeft and grants [{grantId, hop, parentGrantId, delegator, delegatee, type, threshold, proxies, expiresAt, createdAt, active}].',
      ].join('\n'),
    )
    .action(async (o: { patient: string }) => {
      const s = session();
      const p = parsePseudonym(o.patient);
      const listed = await s.connect(async (c) => {
        const consents = await allPages((page) => c.consents.listConsents(p, page), (page) => page.consents);
        const now = new Date();
        return Promise.all(consents.map(async (consent) => listedConsent(consent, await c.consents.allGrants(consent.consentId), now)));
      });
      listed.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      s.emit(listed, () => listed.map(consentBlock).join('\n\n'));
      if (listed.length === 0) s.note('emr: the patient has granted no consents');
    });

  program
    .command('erase')
    .description('crypto-shred a record: the chain drops its key, IPFS nodes drop the ciphertext')
    .argument('<recordId>', 'the record')
    .action(async (recordId: string) => {
      const s = session();
      const id = parseRecordId(recordId, '<recordId>');
      const r = await s.connect((c) => c.eraseRecord(id));
      s.emit({ recordId: r.record.recordId, erasedAt: r.record.erased?.erasedAt ?? null, erasedOn: r.erasedOn, unreachable: r.unreachable, record: r.record }, () =>
        table([
          ['record', r.record.recordId],
          ['erased at', r.record.erased?.erasedAt],
          ['erased on', r.erasedOn.join(', ') || '-'],
          ['unreachable', r.unreachable.length > 0 ? `${r.unreachable.join(', ')} (run erase again when they are back)` : undefined],
        ]),
      );
    });

  return program;
}

/** Runs one command line (`argv` as process.argv: node, script, args…); resolves to the exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env, scriptDir: __dirname }): Promise<number> {
  const program = buildProgram(io);
  const json = () => program.opts().json === true || argv.slice(2).includes('--json');
  const fail = (err: unknown): number => {
    const [error, extra] = err instanceof Failure ? [err.error, err.extra] : [err, {}];
    if (json()) io.stdout.write(`${JSON.stringify(errorDocument(error, extra), null, 2)}\n`);
    else io.stderr.write(`${errorText(error)}\n`);
    return 1;
  };
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help' && !json()) return 1; // no command given: the help went to stderr
      const message = err.code === 'commander.help' ? 'a command is required (see emr --help)' : err.message.replace(/^error: /, '');
      return fail(new UsageError(message));
    }
    return fail(err);
  }
}

if (require.main === module) {
  // A reader that stops early (`emr fetch … | head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  void main(process.argv).then((code) => {
    process.exitCode = code;
    // Leave as soon as the output is flushed, even if a client library keeps a socket open.
    setTimeout(() => process.exit(code), 1000).unref();
  });
}
