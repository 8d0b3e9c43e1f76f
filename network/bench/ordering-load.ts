/**
 * Open-loop load through the Fabric Gateway: transactions leave at a fixed offered rate
 * whatever the network does (as Caliper's fixed-rate controller), each endorsed, sent to the
 * ordering service and awaited until its commit status. A slow network therefore shows as
 * latency and a throughput below the offered rate, not as a slower client.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EmrConnection } from '@emr/client';
import { ConsentLedger, EmrIndex, endorseAndOrder, pseudonymOf } from '@emr/client';
import { categoryAncestors, type ConsentInput, type EmrRecordInput } from '@emr/protocol';
import { quantile } from './stats';

/** One transaction to submit: who, which function, its arguments; `done` releases what it held. */
export interface TxSpec {
  connection: EmrConnection;
  name: string;
  args: string[];
  done?: () => void;
}

/** Makes the next transaction, or undefined when the workload has nothing free right now. */
export type Workload = { name: string; next: () => TxSpec | undefined };

export interface StepResult {
  workload: string;
  offeredPerS: number;
  seconds: number;
  submitted: number;
  committed: number;
  /** Failures by kind: a validation code (MVCC_READ_CONFLICT …) or the error's gRPC status. */
  failed: Record<string, number>;
  /** Transactions the workload could not start (every consent in use, or the in-flight cap). */
  skipped: number;
  /** Committed transactions per second, from the first submission to the last commit. */
  throughputPerS: number;
  p50Ms: number;
  p99Ms: number;
}

/** How one transaction ended: committed (with its latency) or failed (with the kind). */
type Outcome = { committedAt: number; latencyMs: number } | { failure: string };

/**
 * Submits `tx` through the gateway as the SDK does (so a Fabric BFT 'request already
 * processed' refusal of a transaction being committed is not counted as a failure) and waits
 * for its commit status.
 */
async function settle(tx: TxSpec): Promise<Outcome> {
  const t0 = performance.now();
  try {
    const { commit } = await endorseAndOrder(tx.connection, tx.name, { arguments: tx.args });
    const status = await commit.getStatus();
    if (!status.successful) return { failure: String(status.code) };
    const committedAt = performance.now();
    return { committedAt, latencyMs: committedAt - t0 };
  } catch (error) {
    const e = error as { code?: number; constructor: { name: string } };
    return { failure: `${e.constructor.name}${e.code !== undefined ? ` ${e.code}` : ''}` };
  } finally {
    tx.done?.();
  }
}

/** Runs `workload` at `rate` transactions per second for `seconds`, then waits for every one to finish. */
export async function runStep(workload: Workload, rate: number, seconds: number, maxInFlight: number): Promise<StepResult> {
  const latencies: number[] = [];
  const failed: Record<string, number> = {};
  let submitted = 0;
  let skipped = 0;
  let inFlight = 0;
  let lastCommit = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.round(rate * seconds);

  const one = async (tx: TxSpec): Promise<void> => {
    inFlight++;
    const outcome = await settle(tx);
    inFlight--;
    if ('failure' in outcome) failed[outcome.failure] = (failed[outcome.failure] ?? 0) + 1;
    else {
      lastCommit = outcome.committedAt;
      latencies.push(outcome.latencyMs);
    }
  };

  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const tx = inFlight < maxInFlight ? workload.next() : undefined;
    if (tx === undefined) {
      skipped++;
      continue;
    }
    submitted++;
    pending.push(one(tx));
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  const span = (lastCommit - start) / 1000;
  return {
    workload: workload.name,
    offeredPerS: rate,
    seconds,
    submitted,
    committed: latencies.length,
    failed,
    skipped,
    throughputPerS: latencies.length > 0 ? latencies.length / Math.max(span, seconds) : 0,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
  };
}

export interface SaturatedResult {
  workload: string;
  /** Transactions kept in flight. */
  backlog: number;
  /** The measured window (after the warm-up). */
  windowSeconds: number;
  /** Commits inside the window. */
  committed: number;
  failed: Record<string, number>;
  throughputPerS: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Closed loop (as Caliper's fixed-backlog controller): `backlog` transactions in flight at
 * all times, each replaced as soon as it commits or fails, for `warmupSeconds` then
 * `seconds`; the commits inside the second window measure the most the network carries.
 * Unlike an offered rate above capacity, this keeps the queues short, so the figure does
 * not depend on how the gateways and orderers behave when they are swamped.
 */
export async function runSaturated(workload: Workload, backlog: number, seconds: number, warmupSeconds: number): Promise<SaturatedResult> {
  const from = performance.now() + warmupSeconds * 1000;
  const until = from + seconds * 1000;
  const latencies: number[] = [];
  const failed: Record<string, number> = {};
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const tx = workload.next();
      if (tx === undefined) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const outcome = await settle(tx);
      if ('failure' in outcome) failed[outcome.failure] = (failed[outcome.failure] ?? 0) + 1;
      else if (outcome.committedAt >= from && outcome.committedAt < until) latencies.push(outcome.latencyMs);
    }
  };
  await Promise.all(Array.from({ length: backlog }, worker));
  latencies.sort((a, b) => a - b);
  return { workload: workload.name, backlog, windowSeconds: seconds, committed: latencies.length, failed, throughputPerS: latencies.length / seconds, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
}

/** Round robin over connections. */
const rotating = <T>(items: readonly T[]) => {
  let i = 0;
  return () => items[i++ % items.length]!;
};

/** The floor: one PutState per transaction (BenchContract), by the given org admins in turn. */
export function floorWorkload(admins: EmrConnection[]): Workload {
  const next = rotating(admins);
  return { name: 'PutState (floor)', next: () => ({ connection: next(), name: 'bench:PutState', args: [`k-${randomUUID()}`] }) };
}

/** The floor with the one read every EMR write makes first (bench:ReadThenPutState), by the same admins. */
export function readFloorWorkload(admins: EmrConnection[]): Workload {
  const next = rotating(admins);
  return { name: 'GetState+PutState (floor with a read)', next: () => ({ connection: next(), name: 'bench:ReadThenPutState', args: [`k-${randomUUID()}`] }) };
}

/** A record index entry as an upload writes it (its IPFS part done elsewhere): fields of a 2 KiB record. */
export function recordFor(patientPseudonym: string, category = 'cardiology/ecg'): EmrRecordInput {
  const recordId = `rec-${randomUUID()}`;
  const digest = (s: string) => createHash('sha256').update(s).digest('hex');
  return {
    recordId,
    patientPseudonym,
    category,
    type: 'sharable',
    // A CIDv1 raw-leaves form: 'bafkrei' then base32 (a-z, 2-7) of a digest.
    cid: `bafkrei${digest(recordId).replace(/[01890]/g, 'a').slice(0, 52)}`,
    ciphertextSha256: digest(`ciphertext:${recordId}`),
    size: 2048,
    cipherSuite: 'aes-256-gcm-stream.v1',
    encapsulatedKey: Buffer.from(`capsule:${recordId}`).toString('base64url'),
    ancestorKeys: categoryAncestors(category).map((a) => Buffer.from(`capsule:${recordId}:${a}`).toString('base64url')),
  };
}

/** The upload's chaincode transaction (emr:CreateRecord), by the hospitals' doctors in turn. */
export function uploadWorkload(doctors: EmrConnection[], patientPseudonym: string): Workload {
  const next = rotating(doctors);
  return { name: 'upload index (emr:CreateRecord)', next: () => ({ connection: next(), name: 'emr:CreateRecord', args: [JSON.stringify(recordFor(patientPseudonym))] }) };
}

/**
 * Access requests (consent:RequestAccess) by the researcher. Each counts against its consent,
 * so two in flight on one consent would conflict (MVCC); each consent serves one request at
 * a time, and the pool's size bounds the requests in flight.
 */
export function accessWorkload(researcher: EmrConnection, recordId: string, consentIds: string[]): Workload {
  const free = [...consentIds];
  return {
    name: 'access request (consent:RequestAccess)',
    next: () => {
      const consentId = free.pop();
      if (consentId === undefined) return undefined;
      return { connection: researcher, name: 'consent:RequestAccess', args: [recordId, consentId, 'research'], done: () => free.push(consentId) };
    },
  };
}

/** Registers the patient (once), files a record and grants `consents` consents on it to the researcher. */
export async function prepareAccess(patient: EmrConnection, doctor: EmrConnection, researcher: { mspId: string; user: string }, consents: number): Promise<{ recordId: string; consentIds: string[] }> {
  const pseudonym = pseudonymOf(patient.mspId, patient.certificate);
  const ledger = new ConsentLedger(patient);
  await ledger.registerPatient(pseudonym).catch((error: Error) => {
    if (!/CONFLICT/.test(error.message)) throw error;
  });
  const record = await new EmrIndex(doctor).createRecord(recordFor(pseudonym));
  const now = Date.now();
  const consentIds: string[] = [];
  // Granted a few at a time: distinct consents touch distinct keys, so they commit together.
  for (let i = 0; i < consents; i += 20) {
    const batch = Array.from({ length: Math.min(20, consents - i) }, (): ConsentInput => ({
      consentId: `consent-${randomUUID()}`,
      patientPseudonym: pseudonym,
      grantee: { kind: 'identity', mspId: researcher.mspId, enrollmentId: researcher.user },
      scope: { category: 'cardiology' },
      purpose: 'research',
      validFrom: new Date(now - 3_600_000).toISOString(),
      validUntil: new Date(now + 86_400_000).toISOString(),
      maxAccesses: 1_000_000,
      hopLimit: 1,
    }));
    for (const c of await Promise.all(batch.map((input) => ledger.grantConsent(input)))) consentIds.push(c.consentId);
  }
  return { recordId: record.recordId, consentIds };
}
