/**
 * Which process a recorded pid names, across crashes and reboots. A pid alone is not
 * enough: after a reboot, or long after a crash, the same number may belong to another
 * program, and signalling it would hit a stranger. A process is identified by its pid,
 * its start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) and the boot it
 * started in.
 */
import { readFileSync } from 'node:fs';

export interface ProcessId {
  pid: number;
  startTime: number;
  bootId: string;
}

let boot: string | undefined;
export function bootId(): string {
  boot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return boot;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses); undefined once it is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The identity of a live process, or undefined when there is none with that pid (a zombie counts as gone). */
export function processId(pid: number): ProcessId | undefined {
  const f = statFields(pid);
  // f[0] is field 3 (state), so field 22 (starttime) is f[19].
  if (!f || f[0] === 'Z') return undefined;
  return { pid, startTime: Number(f[19]), bootId: bootId() };
}

/** True while the very process that was recorded still runs. */
export function stillRuns(id: ProcessId): boolean {
  if (id.bootId !== bootId()) return false;
  const now = processId(id.pid);
  return now !== undefined && now.startTime === id.startTime;
}
