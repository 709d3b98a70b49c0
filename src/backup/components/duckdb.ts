import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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

/** For each running agent: CHECKPOINT by exec, then the play-log file out through the archive API. */
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

export async function backupDuckdb(ctx: ToolContext, dir: string): Promise<ComponentEntry[]> {
  const cfg = ctx.config.backup.duckdb;
  const agents = (await ctx.docker.listStack(ctx.project, ctx.signal)).filter(
    (c) => c.service === cfg.service && !c.oneoff && c.state === 'running',
  );
  await mkdir(join(dir, 'duckdb'), { recursive: true });
  const entries: ComponentEntry[] = [];
  for (const a of agents) {
    const checkpoint = (await checkpointAgent(ctx, a)) ? 'ok' : 'not configured';
    const file = join('duckdb', `${a.name}.duckdb`);
    const hash = new HashCount(byteProgress(ctx, `duckdb ${a.name}`));
    let header: { mode?: number; uid?: number; gid?: number } = {};
    const ex = extract();
    const copied = new Promise<void>((resolve, reject) => {
      ex.on('entry', (h, stream, next) => {
        if (h.type !== 'file') {
          stream.resume();
          stream.on('end', next);
          return;
        }
        header = { mode: h.mode, uid: h.uid, gid: h.gid };
        pipeline(stream, hash, createWriteStream(join(dir, file))).then(() => next(), reject);
      });
      ex.on('finish', resolve);
      ex.on('error', reject);
    });
    await pipeline(await readArchive(ctx.docker, a.id, cfg.file, ctx.signal), ex);
    await copied;
    const tables = await tableRowCounts(join(dir, file));
    entries.push({
      component: 'duckdb',
      target: a.name,
      file,
      bytes: hash.bytes,
      sha256: hash.digest(),
      details: { path: cfg.file, checkpoint, tables, owner: header },
    });
  }
  return entries;
}

/** Stops the agent, puts the file back where it was (same owner and mode), starts the agent. */
export async function restoreDuckdb(ctx: ToolContext, dir: string, entry: ComponentEntry) {
  const all = await ctx.docker.listStack(ctx.project, ctx.signal);
  const agent = all.find((c) => c.name === entry.target);
  if (!agent)
    throw new ToolError('not_found', `agent container ${entry.target} no longer exists`, {
      hint: 'restore needs the same replica; scale back to it first',
    });
  const path = String(entry.details.path);
  const owner = (entry.details.owner ?? {}) as { mode?: number; uid?: number; gid?: number };
  const wasRunning = agent.state === 'running';
  await whileStopped(ctx.docker, wasRunning ? [agent] : [], ctx.signal, async () => {
    const src = join(dir, entry.file!);
    const tar = pack();
    const size = (await stat(src)).size;
    const writing = writeArchive(ctx.docker, agent.id, dirname(path), tar as unknown as Readable, ctx.signal);
    const e = tar.entry({
      name: basename(path),
      size,
      mode: owner.mode ?? 0o644,
      uid: owner.uid ?? 0,
      gid: owner.gid ?? 0,
    });
    await pipeline(createReadStream(src), e);
    tar.finalize();
    await writing;
  });
  return { agent: agent.name, path, stopped: wasRunning, started: wasRunning, tables: entry.details.tables };
}
