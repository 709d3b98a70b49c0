import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack } from 'tar-stream';
import { readArchive, writeArchive } from '../../adapters/docker/archive.js';
import { whileStopped } from '../../adapters/docker/replicas.js';
import { tableRowCounts } from '../../adapters/duckdb/tables.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../../tools/context.js';
import { redactForProject } from '../../tools/lib/secrets.js';
import { byteProgress } from '../context.js';
import { HashCount } from '../hash-sink.js';
import type { ComponentEntry } from '../manifest.js';
import type { BackupStore, Reason } from '../store.js';

/**
 * The configured CHECKPOINT (backup.duckdb.checkpoint, {file} = the play log) exec'd in one agent,
 * so the file holds what was still in the WAL. False when none is configured; throws on failure.
 */
export async function checkpointAgent(
  ctx: ToolContext,
  agent: { id: string; name: string },
): Promise<boolean> {
  const cfg = ctx.config.backup.duckdb;
  if (!cfg.checkpoint.length) return false;
  const argv = cfg.checkpoint.map((x) => x.replaceAll('{file}', cfg.file));
  const r = await ctx.docker.exec(agent.id, argv, { signal: ctx.signal, timeoutMs: 120_000 });
  if (r.exitCode !== 0)
    throw new ToolError(
      'failed',
      `CHECKPOINT in ${agent.name} exited ${r.exitCode}: ${(await redactForProject(ctx, (r.stderr || r.stdout).trim())).slice(0, 300)}`,
      {
        hint: 'the file would miss what is still in the WAL; fix backup.duckdb.checkpoint (or set it to [] to skip)',
      },
    );
  return true;
}

/**
 * For each running agent: CHECKPOINT by exec, then the play-log file out of the container through
 * the archive API, straight into restic (hashed on the way; no temp file). Then the copy is read
 * back from restic and opened with DuckDB (`tables`: row count per table), which proves the stored
 * copy is a database, not only bytes. Each agent is one entry; a failing agent is reported in
 * `failures` and the others are still saved.
 */
export async function backupDuckdb(
  ctx: ToolContext,
  store: BackupStore,
  id: string,
  reason: Reason,
): Promise<{ entries: ComponentEntry[]; failures: Array<{ target: string; reason: string }> }> {
  const cfg = ctx.config.backup.duckdb;
  const agents = (await ctx.docker.listStack(ctx.project, ctx.signal)).filter(
    (c) => c.service === cfg.service && !c.oneoff && c.state === 'running',
  );
  const entries: ComponentEntry[] = [];
  const failures: Array<{ target: string; reason: string }> = [];
  for (const a of agents) {
    try {
      entries.push(await backupAgent(ctx, store, id, reason, a));
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      failures.push({ target: a.name, reason: (err as Error).message });
    }
  }
  return { entries, failures };
}

async function backupAgent(
  ctx: ToolContext,
  store: BackupStore,
  id: string,
  reason: Reason,
  a: { id: string; name: string },
): Promise<ComponentEntry> {
  const cfg = ctx.config.backup.duckdb;
  const checkpoint = (await checkpointAgent(ctx, a)) ? 'ok' : 'not configured';
  const hash = new HashCount(byteProgress(ctx, `duckdb ${a.name}`));
  let header: { mode?: number; uid?: number; gid?: number } = {};
  let files = 0;
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    if (h.type !== 'file' || files++ > 0) {
      stream.resume();
      stream.on('end', next);
      return;
    }
    header = { mode: h.mode, uid: h.uid, gid: h.gid };
    stream.on('end', next);
    stream.on('data', (c: unknown) => {
      if (!hash.write(c as Buffer)) {
        stream.pause();
        hash.once('drain', () => stream.resume());
      }
    });
  });
  const writing = store.writeData(hash, { id, component: 'duckdb', target: a.name, reason });
  writing.catch(() => undefined);
  try {
    await pipeline(await readArchive(ctx.docker, a.id, cfg.file, ctx.signal), ex);
    if (files === 0) throw new ToolError('not_found', `${cfg.file} in ${a.name} is not a file`);
  } catch (err) {
    hash.destroy(err as Error);
    throw (
      (await writing.then(
        () => null,
        (e: unknown) => e,
      )) ?? err
    );
  }
  hash.end();
  const data = await writing;
  const entry: ComponentEntry = {
    component: 'duckdb',
    target: a.name,
    file: null,
    bytes: hash.bytes,
    sha256: hash.digest(),
    snapshot: data.snapshotId,
    path: data.path,
    details: { path: cfg.file, checkpoint, owner: header, bytesAdded: data.bytesAdded },
  };
  const read = await readBackDuckdb(ctx, store.dump(entry), entry.sha256!);
  entry.details.tables = read.tables;
  return entry;
}

/**
 * Copies a play log out of restic (or any stream) into a private temp file under the state dir,
 * checks its sha256 and opens it with DuckDB: DuckDB needs a file. Returns the row counts per
 * table. The temp file is removed whatever happens.
 */
export async function readBackDuckdb(
  ctx: ToolContext,
  source: Readable,
  sha256: string,
): Promise<{ tables: Record<string, number> }> {
  const dir = join(resolve(ctx.config.stateDir), 'tmp');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `duckdb-${randomUUID()}.duckdb`);
  try {
    const hash = new HashCount();
    await pipeline(source, hash, createWriteStream(file, { mode: 0o600 }));
    if (hash.digest() !== sha256)
      throw new Error(`sha256 of the stored copy does not match the one recorded while writing`);
    return { tables: await tableRowCounts(file) };
  } finally {
    await rm(file, { force: true });
    await rm(`${file}.wal`, { force: true });
  }
}

/**
 * Stops the agent, puts the file back where it was (same owner and mode), starts the agent. The
 * file streams from restic (or a legacy file) into the archive API; its size is the recorded one.
 */
export async function restoreDuckdb(
  ctx: ToolContext,
  entry: ComponentEntry,
  source: () => Readable,
  hooks: { onStopped?: (names: string[]) => Promise<void>; alsoStart?: string[] } = {},
) {
  const all = await ctx.docker.listStack(ctx.project, ctx.signal);
  const agent = all.find((c) => c.name === entry.target);
  if (!agent)
    throw new ToolError('not_found', `agent container ${entry.target} no longer exists`, {
      hint: 'restore needs the same replica; scale back to it first',
    });
  const path = String(entry.details.path);
  const owner = (entry.details.owner ?? {}) as { mode?: number; uid?: number; gid?: number };
  const wasRunning = agent.state === 'running' || Boolean(hooks.alsoStart?.includes(agent.name));
  // Recorded before anything is stopped: a kill during the stop still leaves the name to start.
  await hooks.onStopped?.(wasRunning ? [agent.name] : []);
  await whileStopped(ctx.docker, wasRunning ? [agent] : [], ctx.signal, async () => {
    await writeArchive(
      ctx.docker,
      agent.id,
      dirname(path),
      singleFileTar(source(), basename(path), entry.bytes, owner),
      ctx.signal,
    );
  });
  return { agent: agent.name, path, stopped: wasRunning, started: wasRunning, tables: entry.details.tables };
}

/** A tar stream of one file of known size, its bytes streamed from `data`. */
export function singleFileTar(
  data: Readable,
  name: string,
  size: number,
  owner: { mode?: number; uid?: number; gid?: number },
): Readable {
  const tar = pack();
  const e = tar.entry({ name, size, mode: owner.mode ?? 0o644, uid: owner.uid ?? 0, gid: owner.gid ?? 0 });
  pipeline(data, e).then(
    () => tar.finalize(),
    (err) => tar.destroy(err as Error),
  );
  return tar as unknown as Readable;
}

/** A legacy backup's play-log file. */
export function legacyDuckdb(dir: string, entry: ComponentEntry): Readable {
  return createReadStream(join(dir, entry.file!));
}
