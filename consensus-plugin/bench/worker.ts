/** A simulator worker of `pool.ts`: runs the jobs it is sent, one at a time, and answers with each result. */
import type { WorkerReply, WorkerTask } from './pool';
import { runSimJob } from './sim-runs';

process.on('message', (task: WorkerTask) => {
  let reply: WorkerReply;
  try {
    reply = { index: task.index, result: runSimJob(task.job) };
  } catch (error) {
    reply = { index: task.index, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  process.send?.(reply);
});
