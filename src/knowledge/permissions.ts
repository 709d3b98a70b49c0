/** Who a container runs as, resolved the way the engine resolves `--user` against the image's files. */
export interface ResolvedUser {
  spec: string;
  uid: number | null;
  gid: number | null;
  name: string | null;
}

function table(text: string | null): string[][] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** `user` is Config.User: "", "name", "uid", "name:group", "uid:gid". Empty means root. */
export function resolveUser(user: string, passwd: string | null, group: string | null): ResolvedUser {
  const spec = user || 'root';
  const [u = 'root', g] = spec.split(':');
  const users = table(passwd);
  const byName = users.find((f) => f[0] === u);
  const byUid = /^\d+$/.test(u) ? users.find((f) => f[2] === u) : undefined;
  const entry = byName ?? byUid;
  const uid = /^\d+$/.test(u) ? Number(u) : entry ? Number(entry[2]) : u === 'root' ? 0 : null;
  let gid: number | null = entry ? Number(entry[3]) : uid === 0 ? 0 : null;
  if (g !== undefined)
    gid = /^\d+$/.test(g) ? Number(g) : numberOr(table(group).find((f) => f[0] === g)?.[2]);
  // A numeric uid with no passwd entry runs with gid 0, as the engine does.
  if (gid === null && uid !== null && !entry) gid = 0;
  return { spec, uid, gid, name: entry?.[0] ?? (uid === 0 ? 'root' : null) };
}

function numberOr(v: string | undefined): number | null {
  return v === undefined ? null : Number(v);
}

export interface WriteCheck {
  writable: boolean | null;
  reason: string;
}

export function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** Whether `user` may create files in a directory with this owner and mode (plain Unix bits; ACLs and capabilities aside). */
export function canWrite(
  dir: { uid: number; gid: number; mode: number },
  user: ResolvedUser,
  rw: boolean,
): WriteCheck {
  const who = `${user.spec} (uid ${user.uid ?? '?'}, gid ${user.gid ?? '?'})`;
  const where = `owner ${dir.uid}:${dir.gid}, mode ${octal(dir.mode)}`;
  if (!rw) return { writable: false, reason: 'mounted read-only' };
  if (user.uid === 0) return { writable: true, reason: `${who} is root` };
  if (user.uid === null)
    return { writable: null, reason: `cannot resolve user ${user.spec} in the image's /etc/passwd` };
  const bits =
    user.uid === dir.uid ? (dir.mode >> 6) & 7 : user.gid === dir.gid ? (dir.mode >> 3) & 7 : dir.mode & 7;
  const klass = user.uid === dir.uid ? 'owner' : user.gid === dir.gid ? 'group' : 'others';
  // Creating a file needs write and search (x) permission on the directory.
  const ok = (bits & 3) === 3;
  return {
    writable: ok,
    reason: `${who} falls under "${klass}" of ${where}: ${ok ? 'may write' : 'may not write'}`,
  };
}
