/**
 * Runs simulator jobs in worker processes, one job at a time per worker, so the simulations
 * use every core. Runs are deterministic: how they are spread over workers changes nothing
 * but the wall time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { SimJob, SimResult } from './sim-runs';

/** Worker → parent. */
export type WorkerReply = { index: number; result: SimResult } | { index: number; error: string };
/** Parent → worker. */
export interface WorkerTask {
  index: number;
  job: SimJob;
}

/**
 * Every job's result, in the order of `jobs`. Jobs are handed out in the given order, so
 * put the longest first. `onDone` hears of each as it finishes (progress lines).
 */
export async function runJobs(jobs: readonly SimJob[], workers: number, onDone: (job: SimJob, result: SimResult, done: number) => void): Promise<SimResult[]> {
  const results: SimResult[] = new Array<SimResult>(jobs.length);
  let next = 0;
  let done = 0;
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const child of children) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  };
  process.on('exit', killAll);
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(workers, jobs.length)) }, () => {
        const child = fork(path.join(__dirname, 'worker.ts'), [], { execArgv: ['--require', require.resolve('tsx/cjs')], serialization: 'advanced' });
        children.push(child);
        return new Promise<void>((resolve, reject) => {
          let current: number | undefined;
          const feed = (): void => {
            if (next >= jobs.length) {
              current = undefined;
              child.disconnect();
              resolve();
              return;
            }
            current = next++;
            const task: WorkerTask = { index: current, job: jobs[current] };
            child.send(task);
          };
          child.on('message', (reply: WorkerReply) => {
            if ('error' in reply) {
              reject(new Error(`${describeJob(jobs[reply.index])}: ${reply.error}`));
              return;
            }
            results[reply.index] = reply.result;
            onDone(jobs[reply.index], reply.result, ++done);
            feed();
          });
          child.on('exit', (code, signal) => {
            if (current !== undefined) reject(new Error(`the worker running ${describeJob(jobs[current])} exited (${signal ?? code})`));
          });
          feed();
        });
      }),
    );
  } finally {
    killAll();
    process.off('exit', killAll);
  }
  return results;
}

/** One line naming a job, for progress and errors. */
export function describeJob(job: SimJob): string {
  const what = job.kind === 'steady' ? `${job.load} load` : job.kind === 'faulty' ? `f ${job.behaviour}` : 'leave + rejoin';
  return `${job.protocol} n=${job.n} ${what}`;
}
