/** One run of an `emr` command: the validated global options, where to answer, and the connection. */
import { EmrClient } from '../sharing/emr-client';
import { UsageError, profileRole, profileUsers, type GlobalOptions } from './options';
import { ProgressBar, progressStream } from './progress';

/** Where a run reads and writes (process streams by default; tests pass their own). */
export interface Io {
  stdout: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };
  stderr: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** The directory of this script: the default network directory is found from it. */
  scriptDir: string;
}

/** A failure with more to say in the JSON error document (e.g. what a batch did before it). */
export class Failure extends Error {
  constructor(
    readonly error: unknown,
    readonly extra: Record<string, unknown>,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

/** One command's run: the validated global options and how to answer. */
export class Session {
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

/** Makes the session of the command being run (after commander parsed the global options). */
export type Sessions = () => Session;

/** A UsageError, before connecting, when the profile lists the caller with another role than patient. */
export function requirePatient(s: Session, command: string): void {
  const role = s.role();
  if (role !== undefined && role !== 'patient') {
    throw new UsageError(`${command} is run by the patient himself (e.g. --org ${s.options.org} --user ${profileUsers(s.options, 'patient')[0] ?? 'patient1'}); ${s.options.user} is a ${role}`, '--user');
  }
}
