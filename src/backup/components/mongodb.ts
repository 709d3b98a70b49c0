import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execStream } from '../../adapters/docker/exec-stream.js';
import {
  mongodumpArgv,
  mongorestoreArgv,
  parseDumpCounts,
  parseRestoreCount,
} from '../../adapters/mongodb/tools.js';
import { ToolError } from '../../errors.js';
import { redact } from '../../safety/redact.js';
import type { ToolContext } from '../../tools/context.js';
import { knownProjectSecrets, projectSecrets } from '../../tools/lib/secrets.js';
import { byteProgress, runningReplica } from '../context.js';
import { HashCount } from '../hash-sink.js';
import type { ComponentEntry } from '../manifest.js';

const FILE = join('mongodb', 'mongodb.archive.gz');
/** mongodump's archive format starts with this magic number (0x8199e26d, little-endian). */
const ARCHIVE_MAGIC = Buffer.from([0x6d, 0xe2, 0x99, 0x81]);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** The tool's failure with the last lines of its stderr, every project secret and the URI masked. */
async function failed(
  ctx: ToolContext,
  what: string,
  code: number | null,
  stderr: string,
): Promise<ToolError> {
  const secrets = [
    ctx.config.backup.mongodb.uri,
    ...(await projectSecrets(ctx).catch(() => knownProjectSecrets(ctx))),
  ];
  const tail = redact(stderr, secrets).trim().split('\n').slice(-3).join(' | ');
  return new ToolError('failed', `${what} exited ${code}: ${tail || 'no output'}`, {
    hint: 'check that the mongodb container has the database tools and that backup.mongodb.uri is right',
  });
}

/** mongodump --archive --gzip inside the mongodb container, stdout streamed to disk. */
export async function backupMongo(ctx: ToolContext, dir: string): Promise<ComponentEntry> {
  const cfg = ctx.config.backup.mongodb;
  const c = await runningReplica(ctx, cfg.service, 'cannot back up MongoDB');
  await mkdir(join(dir, 'mongodb'), { recursive: true });
  const hash = new HashCount(byteProgress(ctx, 'mongodb'));
  const sink = createWriteStream(join(dir, FILE));
  // Awaited together: a sink that fails first (a full disk) must reject here, not go unhandled.
  const [r] = await Promise.all([
    execStream(ctx.docker, c.id, mongodumpArgv(cfg.uri), { stdout: hash, signal: ctx.signal }),
    pipeline(hash, sink),
  ]);
  if (r.exitCode !== 0) throw await failed(ctx, 'mongodump', r.exitCode, r.stderr);
  return {
    component: 'mongodb',
    target: cfg.service,
    file: FILE,
    bytes: hash.bytes,
    sha256: hash.digest(),
    details: { container: c.name, collections: parseDumpCounts(r.stderr) },
  };
}

/** A mongodump archive: the archive format's magic number, or (whole-stream) gzip that must inflate cleanly. */
export async function checkMongoArchive(path: string): Promise<string> {
  const h = await open(path, 'r');
  const head = Buffer.alloc(4);
  try {
    await h.read(head, 0, 4, 0);
  } finally {
    await h.close();
  }
  if (head.equals(ARCHIVE_MAGIC)) return 'mongodump archive header present';
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) {
    await pipeline(createReadStream(path), createGunzip(), new Writable({ write: (_c, _e, cb) => cb() }));
    return 'gzip stream intact';
  }
  throw new Error('neither a mongodump archive nor a gzip stream');
}

/** mongorestore --archive --gzip --drop fed by exec stdin. */
export async function restoreMongo(ctx: ToolContext, dir: string, entry: ComponentEntry) {
  const cfg = ctx.config.backup.mongodb;
  const c = await runningReplica(ctx, cfg.service, 'cannot restore MongoDB');
  const r = await execStream(ctx.docker, c.id, mongorestoreArgv(cfg.uri), {
    stdin: createReadStream(join(dir, entry.file!)),
    stdout: new Writable({ write: (_c, _e, cb) => cb() }),
    signal: ctx.signal,
  });
  if (r.exitCode !== 0) throw await failed(ctx, 'mongorestore', r.exitCode, r.stderr);
  return { container: c.name, ...parseRestoreCount(r.stderr) };
}
