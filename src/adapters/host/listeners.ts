import { readdir, readFile, readlink } from 'node:fs/promises';

export interface HostListener {
  /** Local address as the kernel reports it, e.g. 127.0.0.1 or ::. */
  address: string;
  port: number;
  pid: number | null;
  command: string | null;
}

const LISTEN = '0A';

function ipv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

function ipv6(hex: string): string {
  if (/^0{32}$/.test(hex)) return '::';
  if (/^0{16}FFFF0000/i.test(hex)) return ipv4(hex.slice(24));
  const words: string[] = [];
  // /proc prints four host-order (little-endian) 32-bit words.
  for (let i = 0; i < 32; i += 8) {
    const w = hex
      .slice(i, i + 8)
      .match(/../g)!
      .reverse()
      .join('');
    words.push(w.slice(0, 4), w.slice(4));
  }
  return words.map((w) => Number.parseInt(w, 16).toString(16)).join(':');
}

/** TCP listening sockets of /proc/net/tcp[6] text: [inode, address, port]. */
export function parseProcNetTcp(
  text: string,
  v6: boolean,
): Array<{ inode: string; address: string; port: number }> {
  const out: Array<{ inode: string; address: string; port: number }> = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== LISTEN) continue;
    const [addr, port] = f[1]!.split(':');
    out.push({ inode: f[9]!, address: v6 ? ipv6(addr!) : ipv4(addr!), port: Number.parseInt(port!, 16) });
  }
  return out;
}

/**
 * Processes on this host listening on a TCP port, from /proc (what `netstat -tlnp` shows). Only
 * sees this network namespace, and owners of other users' sockets only when run as root.
 */
export async function hostListeners(port: number): Promise<HostListener[]> {
  const sockets = [];
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    const text = await readFile(file, 'utf8').catch(() => '');
    sockets.push(...parseProcNetTcp(text, v6).filter((s) => s.port === port));
  }
  if (sockets.length === 0) return [];
  const owners = await socketOwners(new Set(sockets.map((s) => s.inode)));
  return sockets.map((s) => ({
    address: s.address,
    port: s.port,
    pid: owners.get(s.inode)?.pid ?? null,
    command: owners.get(s.inode)?.command ?? null,
  }));
}

async function socketOwners(inodes: Set<string>): Promise<Map<string, { pid: number; command: string }>> {
  const found = new Map<string, { pid: number; command: string }>();
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m || !inodes.has(m[1]!) || found.has(m[1]!)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      found.set(m[1]!, { pid: Number(pid), command: cmdline.split('\0').filter(Boolean).join(' ') });
    }
    if (found.size === inodes.size) break;
  }
  return found;
}
