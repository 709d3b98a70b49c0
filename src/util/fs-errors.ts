import { statfsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { ToolError } from '../errors.js';
import { formatBytes } from './duration.js';

/** errno codes of a local file-system failure that a user can act on (space, permissions, names). */
const FS_CODES = new Set([
  'ENOSPC',
  'EDQUOT',
  'EACCES',
  'EPERM',
  'EROFS',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'EMFILE',
  'ENFILE',
  'ENAMETOOLONG',
  'EIO',
]);

/** The errno code of `err` or of an error in its `cause` chain (streams and wrappers nest them). */
export function errnoCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && FS_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Free and total bytes of the file system holding `path` (statfs; bytes available to an
 * unprivileged writer), or undefined when it cannot be read.
 */
export async function freeSpace(path: string): Promise<{ free: number; total: number } | undefined> {
  try {
    const s = await statfs(path);
    return { free: Number(s.bavail) * Number(s.bsize), total: Number(s.blocks) * Number(s.bsize) };
  } catch {
    return undefined;
  }
}

export interface FsErrorContext {
  /** What was being done, for the message: "write backup 20261130T…-volumes". */
  what: string;
  /** The directory written to (named in the message; its free space is read on ENOSPC). */
  dir: string;
  /** The setting that chooses the directory, for the hint: "backup.dir (DOOM_OPS_BACKUP_DIR)". */
  setting: string;
}

/**
 * Turns a local file-system failure (ENOSPC, EDQUOT, EACCES, EROFS, EEXIST, …, found on `err` or
 * its cause chain) into a ToolError that names the directory, why it failed and what to do; for a
 * full disk it reads the free space with statfs. A ToolError, or an error that is not a file-system
 * failure, is returned unchanged (the caller rethrows it).
 */
export async function fileSystemError(err: unknown, ctx: FsErrorContext): Promise<unknown> {
  const code = err instanceof ToolError ? undefined : errnoCode(err);
  const space = code === 'ENOSPC' || code === 'EDQUOT' ? await freeSpace(ctx.dir) : undefined;
  return describeFsError(err, ctx, space);
}

/** fileSystemError for synchronous writers (the audit log): the same message, statfs read synchronously. */
export function fileSystemErrorSync(err: unknown, ctx: FsErrorContext): unknown {
  const code = err instanceof ToolError ? undefined : errnoCode(err);
  let space: { free: number; total: number } | undefined;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    try {
      const s = statfsSync(ctx.dir);
      space = { free: Number(s.bavail) * Number(s.bsize), total: Number(s.blocks) * Number(s.bsize) };
    } catch {
      space = undefined;
    }
  }
  return describeFsError(err, ctx, space);
}

function describeFsError(
  err: unknown,
  ctx: FsErrorContext,
  space: { free: number; total: number } | undefined,
): unknown {
  if (err instanceof ToolError) return err;
  const code = errnoCode(err);
  if (!code) return err;
  const path = (err as { path?: unknown }).path;
  const where = typeof path === 'string' && path !== ctx.dir ? `${path} in ${ctx.dir}` : ctx.dir;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT': {
      const left = space
        ? `${formatBytes(space.free)} free of ${formatBytes(space.total)}`
        : 'free space unknown';
      return new ToolError(
        'failed',
        `cannot ${ctx.what}: ${code === 'ENOSPC' ? 'no space left' : 'disk quota exceeded'} in ${ctx.dir} (${left} now)`,
        {
          hint: `free space there (df -h ${ctx.dir}), or point ${ctx.setting} at a file system with more room, then run it again`,
          cause: err,
        },
      );
    }
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ToolError(
        'not_allowed',
        `cannot ${ctx.what}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'} on ${where}`,
        {
          hint: `make ${ctx.dir} writable for this user, or point ${ctx.setting} at a directory it can write`,
          cause: err,
        },
      );
    case 'EEXIST':
      return new ToolError('conflict', `cannot ${ctx.what}: ${where} already exists`, {
        hint: 'nothing was overwritten; move that file away or run it again',
        cause: err,
      });
    default:
      return new ToolError('failed', `cannot ${ctx.what}: ${code} on ${where}`, {
        hint: `check ${ctx.dir} (it must be a writable directory), or point ${ctx.setting} elsewhere`,
        cause: err,
      });
  }
}

const VERBS: Record<string, string> = {
  open: 'open',
  mkdir: 'create the directory',
  write: 'write',
  read: 'read',
  rename: 'rename',
  unlink: 'remove',
  rmdir: 'remove',
  scandir: 'list',
  stat: 'read',
  lstat: 'read',
  copyfile: 'copy',
  link: 'link',
  symlink: 'link',
  chmod: 'change the mode of',
  access: 'access',
};

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on that file system',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EEXIST: 'something of that name already exists (a file where a directory is expected?)',
  ENOTDIR: 'part of the path is a file, not a directory',
  EISDIR: 'it is a directory',
  EMFILE: 'too many open files in this process',
  ENFILE: 'too many open files on this host',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'I/O error from the device',
};

/**
 * A Node file-system error that reached a surface without a ToolError around it (code, syscall
 * and path set, e.g. a state directory that is a file) as a ToolError naming the path, why and
 * what to check; undefined for anything else. `stateDir` (absolute) names the setting when the
 * path lies under it.
 */
export function systemFileError(err: unknown, stateDir?: string): ToolError | undefined {
  const e = err as { code?: unknown; syscall?: unknown; path?: unknown; dest?: unknown };
  if (typeof e?.code !== 'string' || typeof e.syscall !== 'string' || typeof e.path !== 'string') return;
  const reason = REASONS[e.code];
  if (!reason) return;
  const path = e.path;
  const inState = stateDir !== undefined && (path === stateDir || path.startsWith(`${stateDir}/`));
  return new ToolError(
    e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.code === 'EIO' ? 'failed' : 'not_allowed',
    `cannot ${VERBS[e.syscall] ?? e.syscall} ${path}: ${reason} (${e.code})`,
    {
      hint: inState
        ? `that is doom-ops' state directory (stateDir in the config, DOOM_OPS_STATE_DIR): make ${stateDir} a writable directory, or point the setting at one`
        : `check ${path}: it must be a writable directory or file of this user, on a file system with room`,
      cause: err,
    },
  );
}
