import { startAgain, stopContainer } from '../../adapters/docker/replicas.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../../tools/context.js';
import { redactForProject } from '../../tools/lib/secrets.js';
import { deadline } from '../../util/deadline.js';
import { formatDuration } from '../../util/duration.js';
import { leftStopped, markStoppedForBackup, readStoppedForBackup } from '../journal.js';

/** The label that asks for a service to be stopped while its volumes are archived. */
export const STOP_LABEL = 'doom-ops.backup.stop';
/** The label the Swarm agent puts on a task's container. */
const SWARM_TASK_LABEL = 'com.docker.swarm.task.id';

interface Owner {
  id: string;
  name: string;
  service: string;
  running: boolean;
  labels: Record<string, string>;
}

/** What was done for consistency around one volume's archive (recorded in the backup's details). */
export interface ConsistencyInfo {
  /** Containers stopped while the volume was archived (and started again). */
  stoppedForBackup?: string[];
  /** Hooks run: "pre nats: ok", "post nats: exited 1: …". */
  hooks?: string[];
}

function audit(ctx: ToolContext, event: string, outcome: string): void {
  ctx.safety.audit.append({
    event,
    principal: ctx.principal.id,
    surface: ctx.principal.surface,
    tool: 'backup',
    project: ctx.project,
    outcome,
  });
}

async function runHook(
  ctx: ToolContext,
  owners: Owner[],
  service: string,
  phase: 'pre' | 'post',
  argv: string[],
): Promise<string> {
  const c = owners.find((o) => o.service === service && o.running);
  if (!c) return `${phase} ${service}: not run (no running replica)`;
  // A post hook runs even after a cancellation: a fresh deadline instead of the caller's signal.
  const r = await ctx.docker.exec(c.id, argv, {
    ...(phase === 'pre' ? { signal: ctx.signal } : {}),
    timeoutMs: 300_000,
  });
  if (r.exitCode === 0) return `${phase} ${service}: ok`;
  const why = (await redactForProject(ctx, (r.stderr || r.stdout).trim())).slice(0, 200);
  const msg = `${phase} hook of ${service} (${argv.join(' ')}) exited ${r.exitCode}${why ? `: ${why}` : ''}`;
  if (phase === 'pre')
    throw new ToolError('failed', msg, {
      hint: `fix backup.hooks.${service}.pre; nothing of this volume was saved`,
    });
  return msg;
}

/**
 * Runs `work` (archiving one volume) with the volume's consistency measures around it:
 *  - the pre hooks of every service that mounts it (backup.hooks.<service>.pre, exec'd in its first
 *    running replica); a failing pre hook fails this volume's backup, and no post hook of that
 *    service runs;
 *  - running containers of services labelled doom-ops.backup.stop=true or listed in backup.stop
 *    are stopped gracefully (audited) and always started again afterwards, on failure and after a
 *    cancellation too (with a fresh deadline, not the cancelled signal); while they are stopped the
 *    archive gets at most backup.stopMax, then it is abandoned;
 *  - the post hooks (a failure is reported in the details, the archive stays).
 * `work` gets the signal to use (the caller's, bounded by stopMax when something is stopped).
 */
export async function withConsistency<T extends { details: Record<string, unknown> }>(
  ctx: ToolContext,
  v: { key: string; owners: Owner[] },
  work: (signal: AbortSignal, info: ConsistencyInfo) => Promise<T>,
): Promise<T> {
  const cfg = ctx.config.backup;
  const services = [...new Set(v.owners.map((o) => o.service))].sort();
  const toStop = v.owners.filter(
    (o) => o.running && (o.labels[STOP_LABEL] === 'true' || cfg.stop.includes(o.service)),
  );
  // A Swarm task's container that stops is replaced by a new task at once (which would write the
  // volume while it is read, and be left running beside the old one started again).
  const tasks = toStop.filter((o) => o.labels[SWARM_TASK_LABEL]);
  if (tasks.length)
    throw new ToolError(
      'failed',
      `volume ${v.key} is to be archived with ${[...new Set(tasks.map((o) => o.service))].join(', ')} stopped (backup.stop or ${STOP_LABEL}), but on Swarm a stopped task is replaced by a new one at once; nothing of this volume was saved`,
      {
        hint: `quiesce it with backup.hooks.<service>.pre/post instead, or scale it to 0 first (doom-ops scale), back it up, and scale it back`,
      },
    );
  const hooks: string[] = [];
  const preDone: string[] = [];
  const stopped: Owner[] = [];
  let result: T | undefined;
  try {
    for (const s of services) {
      const pre = cfg.hooks[s]?.pre ?? [];
      if (pre.length) hooks.push(await runHook(ctx, v.owners, s, 'pre', pre));
      preDone.push(s);
    }
    for (const o of toStop) {
      audit(ctx, 'backup_stop', `stopping ${o.name} while volume ${v.key} is archived`);
      // Recorded first: if this process is killed, the next backup (and health) knows to start it.
      await markStoppedForBackup(ctx.config, ctx.project, o, true);
      stopped.push(o);
      await stopContainer(ctx.docker, o.id, { label: o.name, signal: ctx.signal });
    }
    const signal = stopped.length ? deadline(ctx.signal, cfg.stopMax) : ctx.signal;
    const info: ConsistencyInfo = {
      ...(stopped.length ? { stoppedForBackup: stopped.map((o) => o.name) } : {}),
    };
    try {
      result = await work(signal, info);
    } catch (err) {
      if (signal.aborted && !ctx.signal.aborted)
        throw new ToolError(
          'timeout',
          `archiving volume ${v.key} took longer than backup.stopMax (${formatDuration(cfg.stopMax)}) while ${stopped.map((o) => o.name).join(', ')} was stopped; it was abandoned and the service started again`,
          {
            hint: 'raise backup.stopMax, or back the service up with a dump tool or a pre hook instead of stopping it',
          },
        );
      throw err;
    }
  } finally {
    for (const o of stopped) {
      try {
        await startAgain(ctx.docker, o);
        await markStoppedForBackup(ctx.config, ctx.project, o, false);
        audit(ctx, 'backup_start', `started ${o.name} again after archiving volume ${v.key}`);
      } catch (err) {
        audit(ctx, 'backup_start', `could not start ${o.name} again: ${(err as Error).message}`);
        ctx.logger.error({ container: o.name, err }, 'could not start a container stopped for a backup');
      }
    }
    for (const s of preDone) {
      const post = cfg.hooks[s]?.post ?? [];
      if (post.length)
        hooks.push(
          await runHook(ctx, v.owners, s, 'post', post).catch((e) => `post ${s}: ${(e as Error).message}`),
        );
    }
    if (result && hooks.length) result.details.hooks = hooks;
  }
  return result as T;
}

/**
 * Containers a killed backup left stopped (recorded before each stop): started again, audited.
 * Run at the start of every backup. A container that is gone is forgotten. Returns the names started.
 */
export async function startLeftStopped(ctx: ToolContext): Promise<string[]> {
  const started: string[] = [];
  for (const o of leftStopped(await readStoppedForBackup(ctx.config, ctx.project))) {
    try {
      await startAgain(ctx.docker, o);
      started.push(o.name);
      audit(
        ctx,
        'backup_start',
        `started ${o.name} again: a backup stopped it at ${o.at} and was killed before starting it`,
      );
    } catch (err) {
      if (!/no such container|404/i.test((err as Error).message)) throw err;
    }
    await markStoppedForBackup(ctx.config, ctx.project, o, false);
  }
  return started;
}
