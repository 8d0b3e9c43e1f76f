#!/usr/bin/env node
/**
 * `emr`: the command line over the SDK's EmrClient. Every command connects as one enrolled
 * identity (`--org`, `--user`), runs one flow and closes the connection. Option values are
 * checked before connecting, and so is what the caller's role (from the connection profile)
 * rules out: `fetch` without --consent/--grant, and `patient register`/`show`, for anyone but
 * a patient. Output is human text, or with `--json` exactly one JSON document
 * on stdout (an error too, as `{"error": {...}}`); the exit code is 1 on any error.
 */
import { Command, CommanderError } from 'commander';
import { addWhoami } from './commands/whoami';
import { addUpload } from './commands/upload';
import { addUploadBatch } from './commands/upload-batch';
import { addGrant } from './commands/grant';
import { addExtend } from './commands/extend';
import { addRevoke } from './commands/revoke';
import { addRequest } from './commands/request';
import { addFetch } from './commands/fetch';
import { addDelegate } from './commands/delegate';
import { addSwitchType } from './commands/switch-type';
import { addAudit } from './commands/audit';
import { addArea } from './commands/area';
import { addConsortium } from './commands/consortium';
import { addPatient } from './commands/patient';
import { addRecords } from './commands/records';
import { addConsents } from './commands/consents';
import { addErase } from './commands/erase';
import { addTrace } from './commands/trace';
import { errorDocument, errorText } from './errors';
import { UsageError, globalOptions } from './options';
import { Failure, Session, type Io } from './session';

export type { Io } from './session';

/** Builds the program: the global options, then one unit per command (commands/). */
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

  // In the order `emr --help` lists them.
  for (const add of [addWhoami, addUpload, addUploadBatch, addGrant, addExtend, addRevoke, addRequest, addFetch, addDelegate, addSwitchType, addAudit, addPatient, addRecords, addConsents, addErase, addTrace, addConsortium, addArea]) add(program, session);
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
