/**
 * A steady load through the SDK, as hospitals make it: a doctor uploads records, patients
 * grant consents (key centres, proxies, chain), a researcher reads under a consent (proxies'
 * fragments, IPFS, receipts), patients read their own records. Every operation is kept with
 * its outcome: the transactions it committed, or the error class it failed with.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EmrError, type EmrClient } from '../../client/src';

export type OpKind = 'upload' | 'grant' | 'access' | 'read';
export const OP_KINDS: OpKind[] = ['upload', 'grant', 'access', 'read'];

export interface Op {
  kind: OpKind;
  startedAt: number;
  endedAt?: number;
  ok: boolean;
  /** Transactions the SDK reported committed for it. */
  txIds: string[];
  /** An upload's record and its content's SHA-256, to read it back later. */
  upload?: { recordId: string; sha256: string; patient: number };
  error?: { class: string; message: string; named: boolean };
}

export interface LoadPatient {
  client: EmrClient;
  pseudonym: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HOUR = 3_600_000;
const FAILURE_PAUSE_MS = 250;

export class SdkLoad {
  readonly ops: Op[] = [];
  /** Content read back that did not match what was uploaded: must stay empty. */
  readonly integrityViolations: string[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly consents = new Map<number, string>();
  private seq = 0;
  readonly category = `soak${randomUUID().slice(0, 6)}`;

  constructor(
    private readonly doctor: EmrClient,
    private readonly researcher: EmrClient,
    private readonly patients: LoadPatient[],
    private readonly researcherParty: { mspId: string; enrollmentId: string },
  ) {}

  /** Three records per patient, one per category, then a consent covering them: what the reads need. */
  async prepare(): Promise<void> {
    for (let p = 0; p < this.patients.length; p++) {
      for (let c = 0; c < 3; c++) await this.must(this.upload(p, c));
      await this.must(this.grant(p));
    }
  }

  start(concurrency: number): void {
    this.running = true;
    this.workers = Array.from({ length: concurrency }, (_, w) => this.work(w));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  committedUploads(): (Op & { upload: NonNullable<Op['upload']> })[] {
    return this.ops.filter((o): o is Op & { upload: NonNullable<Op['upload']> } => o.ok && o.upload !== undefined);
  }

  private async work(worker: number): Promise<void> {
    while (this.running) {
      const n = this.seq++;
      const kind = OP_KINDS[n % OP_KINDS.length]!;
      const p = (n + worker) % this.patients.length;
      const op = kind === 'upload' ? await this.upload(p, n % 3) : kind === 'grant' ? await this.grant(p) : await this.read(p, kind);
      // As an application would, after a failure it waits a little before the next call.
      if (!op.ok) await new Promise((r) => setTimeout(r, FAILURE_PAUSE_MS));
    }
  }

  private async must(op: Promise<Op>): Promise<void> {
    const done = await op;
    if (!done.ok) throw new Error(`preparing the load: ${done.kind} failed: ${done.error!.class}: ${done.error!.message}`);
  }

  /** Runs one operation, keeping its outcome; `body` answers the transactions it committed. */
  private async op(kind: OpKind, body: (op: Op) => Promise<string[]>): Promise<Op> {
    const op: Op = { kind, startedAt: Date.now(), ok: false, txIds: [] };
    this.ops.push(op);
    try {
      op.txIds = await body(op);
      op.ok = true;
    } catch (err) {
      const e = err as Error;
      // Named: an SDK error class that says what failed, not a bare Error or a TypeError.
      op.error = { class: e?.constructor?.name ?? typeof err, message: String(e?.message ?? err).split('\n')[0]!.slice(0, 300), named: err instanceof EmrError && e.constructor !== EmrError };
      delete op.upload;
    } finally {
      op.endedAt = Date.now();
    }
    return op;
  }

  private upload(p: number, category: number): Promise<Op> {
    return this.op('upload', async (op) => {
      const data = randomBytes(1024 + Math.floor(Math.random() * 3072));
      const { record } = await this.doctor.uploadRecord({ patientPseudonym: this.patients[p]!.pseudonym, category: `${this.category}/c${category}`, source: data });
      op.upload = { recordId: record.recordId, sha256: sha256(data), patient: p };
      return [record.txId];
    });
  }

  private grant(p: number): Promise<Op> {
    return this.op('grant', async () => {
      const { consent, grants } = await this.patients[p]!.client.grantConsent({
        patientPseudonym: this.patients[p]!.pseudonym,
        grantee: { kind: 'identity', ...this.researcherParty },
        scope: { category: this.category },
        purpose: 'research',
        validFrom: new Date(Date.now() - HOUR).toISOString(),
        validUntil: new Date(Date.now() + 24 * HOUR).toISOString(),
        maxAccesses: 10_000,
        hopLimit: 1,
      });
      this.consents.set(p, consent.consentId);
      return [consent.txId, ...grants.map((g) => g.txId)];
    });
  }

  /** The researcher under the patient's latest consent, or the patient himself: the bytes must be the ones uploaded. */
  private read(p: number, kind: 'access' | 'read'): Promise<Op> {
    return this.op(kind, async () => {
      const mine = this.committedUploads().filter((u) => u.upload.patient === p);
      const target = mine[Math.floor(Math.random() * mine.length)]!.upload;
      const read =
        kind === 'access'
          ? await this.researcher.fetchRecord(target.recordId, { consentId: this.consents.get(p)! }, { purpose: 'research' })
          : await this.patients[p]!.client.fetchRecord(target.recordId, undefined, { purpose: 'treatment' });
      if (sha256(read.data!) !== target.sha256) this.integrityViolations.push(`${kind} of ${target.recordId} read bytes with SHA-256 ${sha256(read.data!)}, not ${target.sha256}`);
      await read.receiptCommitted;
      // A patient reading his own record makes no access request, so no transaction.
      return read.entry && read.receipt ? [read.entry.txId, read.receipt.txId] : [];
    });
  }
}
