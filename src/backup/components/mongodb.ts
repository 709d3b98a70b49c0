import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { type Readable, Writable } from 'node:stream';
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
import { byteProgress, heldEnd, runningReplica } from '../context.js';
import { HashCount } from '../hash-sink.js';
import type { ComponentEntry } from '../manifest.js';
import type { BackupStore, Reason } from '../store.js';

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

/**
 * mongodump --archive --gzip inside the mongodb container, its stdout streamed into restic (no temp
 * file) and hashed on the way. The snapshot is only saved when mongodump exits 0: a failed dump
 * stops restic before the end of its input, so nothing partial is stored.
 */
export async function backupMongo(
  ctx: ToolContext,
  store: BackupStore,
  id: string,
  reason: Reason,
): Promise<ComponentEntry> {
  const cfg = ctx.config.backup.mongodb;
  const c = await runningReplica(ctx, cfg.service, 'cannot back up MongoDB');
  const hash = new HashCount(byteProgress(ctx, 'mongodb'));
  const held = heldEnd(hash);
  const writing = store.writeData(hash, { id, component: 'mongodb', target: cfg.service, reason });
  // A restic failure (wrong password, full disk) must not go unhandled while the dump still runs.
  writing.catch(() => undefined);
  let r: { exitCode: number | null; stderr: string };
  try {
    r = await execStream(ctx.docker, c.id, mongodumpArgv(cfg.uri), { stdout: held.sink, signal: ctx.signal });
  } catch (err) {
    held.close(err as Error);
    // restic failing (a full disk) is why the dump's output stopped flowing: that is the error.
    throw (
      (await writing.then(
        () => null,
        (e: unknown) => e,
      )) ?? err
    );
  }
  if (r.exitCode !== 0) {
    const failure = await failed(ctx, 'mongodump', r.exitCode, r.stderr);
    held.close(failure);
    await writing.catch(() => undefined);
    throw failure;
  }
  held.close();
  const data = await writing;
  return {
    component: 'mongodb',
    target: cfg.service,
    file: null,
    bytes: hash.bytes,
    sha256: hash.digest(),
    snapshot: data.snapshotId,
    path: data.path,
    details: { container: c.name, collections: parseDumpCounts(r.stderr), bytesAdded: data.bytesAdded },
  };
}

/**
 * A mongodump archive: the archive format's magic number, or (whole-stream) gzip that must inflate
 * cleanly. Reads the whole stream (a restic dump, or a legacy file).
 */
export async function checkMongoStream(source: Readable): Promise<string> {
  let head = Buffer.alloc(0);
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  let kind: 'archive' | 'gzip' | undefined;
  for await (const chunk of source) {
    const buf = chunk as Buffer;
    if (!kind) {
      head = Buffer.concat([head, buf]);
      if (head.length < 4) continue;
      if (head.subarray(0, 4).equals(ARCHIVE_MAGIC)) kind = 'archive';
      else if (head.subarray(0, 2).equals(GZIP_MAGIC)) {
        kind = 'gzip';
        gunzip = createGunzip();
        gunzip.resume();
      } else throw new Error('neither a mongodump archive nor a gzip stream');
      if (gunzip) await writeTo(gunzip, head);
      continue;
    }
    if (gunzip) await writeTo(gunzip, buf);
  }
  if (!kind) throw new Error('the archive is empty or shorter than its header');
  if (gunzip) {
    const g = gunzip;
    await new Promise<void>((resolve, reject) => {
      g.once('error', reject);
      g.once('end', resolve);
      g.end();
    });
    return 'gzip stream intact';
  }
  return 'mongodump archive header present';
}

function writeTo(w: ReturnType<typeof createGunzip>, b: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    w.once('error', onError);
    if (w.write(b)) {
      w.off('error', onError);
      resolve();
    } else
      w.once('drain', () => {
        w.off('error', onError);
        resolve();
      });
  });
}

/** mongorestore --archive --gzip --drop fed by exec stdin, from restic or a legacy file. */
export async function restoreMongo(
  ctx: ToolContext,
  source: () => Readable,
  container?: { id: string; name: string },
) {
  const cfg = ctx.config.backup.mongodb;
  const c = container ?? (await runningReplica(ctx, cfg.service, 'cannot restore MongoDB'));
  const r = await execStream(ctx.docker, c.id, mongorestoreArgv(cfg.uri), {
    stdin: source(),
    stdout: new Writable({ write: (_c, _e, cb) => cb() }),
    signal: ctx.signal,
  });
  if (r.exitCode !== 0) throw await failed(ctx, 'mongorestore', r.exitCode, r.stderr);
  return { container: c.name, ...parseRestoreCount(r.stderr) };
}

/** A legacy backup's archive file. */
export function legacyFile(dir: string, entry: ComponentEntry): Readable {
  return createReadStream(join(dir, entry.file!));
}
