/**
 * Which process opened a loopback TCP connection. A relay sees only the peer's address and
 * port; the kernel's socket tables (/proc/net/tcp{,6}) map that to a socket inode, and the
 * process whose file descriptors hold that inode is the dialer. Walking up its parents
 * reaches a process we started (a supervisor's child counts as its supervisor).
 *
 * Linux only, and it needs permission to read other processes' fd tables (same user or root).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** `/proc/net/tcp` writes an IPv4 address as one little-endian 32-bit hex word. */
function ipv4Hex(address: string): string {
  const octets = address.split('.').map(Number);
  return octets
    .reverse()
    .map((o) => o.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

/** The IPv4-mapped IPv6 form of an address as `/proc/net/tcp6` writes it (four little-endian words). */
function ipv4MappedHex(address: string): string {
  return `0000000000000000FFFF0000${ipv4Hex(address)}`;
}

const portHex = (port: number): string => port.toString(16).padStart(4, '0').toUpperCase();

/** The inode of the socket whose local end is `address:port` (the dialer's end), or undefined. */
export function socketInode(address: string, port: number): number | undefined {
  const plain = address.replace(/^::ffff:/, '');
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(plain)) return undefined;
  const wanted = new Set([`${ipv4Hex(plain)}:${portHex(port)}`, `${ipv4MappedHex(plain)}:${portHex(port)}`]);
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local rem st queues timer retransmits uid timeout inode …
      if (fields.length > 9 && wanted.has(fields[1]!)) {
        const inode = Number(fields[9]);
        if (inode > 0) return inode;
      }
    }
  }
  return undefined;
}

const pids = (): number[] => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);

/** The process holding socket `inode` open, or undefined (it exited, or we may not look). */
export function socketOwner(inode: number): number | undefined {
  const target = `socket:[${inode}]`;
  for (const pid of pids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return undefined;
}

/** The parent of `pid` (field 4 of /proc/<pid>/stat; the name in field 2 may hold spaces). */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return ppid > 0 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The name of the process that dialed from `address:port`: the first of its ancestors (itself
 * included) that `named` knows, or undefined for a stranger.
 */
export function dialerOf(address: string, port: number, named: ReadonlyMap<number, string>): string | undefined {
  const inode = socketInode(address, port);
  if (inode === undefined) return undefined;
  for (let pid = socketOwner(inode); pid !== undefined && pid > 1; pid = parentOf(pid)) {
    const name = named.get(pid);
    if (name !== undefined) return name;
  }
  return undefined;
}
