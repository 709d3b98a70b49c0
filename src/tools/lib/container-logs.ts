import type { LogReadOptions } from '../../adapters/docker/client.js';
import type { ContainerDetail, LogLine } from '../../adapters/docker/types.js';
import type { SwarmService } from '../../adapters/swarm/client.js';
import { isToolError, ToolError } from '../../errors.js';
import type { ToolContext } from '../context.js';

/** Drivers the engine reads back itself; every other one only through its local cache (dual logging). */
const READABLE = new Set(['json-file', 'local', 'journald']);

/**
 * Why a container's logs cannot be read back through the engine, or null when they can:
 * driver `none` keeps nothing; other remote drivers (syslog, gelf, fluentd, awslogs…) are read
 * through the engine's local cache (Docker 20.10+ dual logging) unless `cache-disabled` is set.
 */
export function logsUnavailableReason(d: Pick<ContainerDetail, 'logConfig'>): string | null {
  const { driver, options } = d.logConfig;
  if (driver === 'none') return 'logging driver none (the engine keeps no logs of this container)';
  if (READABLE.has(driver)) return null;
  if (options['cache-disabled'] === 'true')
    return `logging driver ${driver} with cache-disabled (the engine keeps no local copy to read back; read them where ${driver} sends them)`;
  return null;
}

/** The logs of one container cannot be read; `reason` says why in on-call words. */
export class LogsUnavailableError extends ToolError {
  constructor(
    readonly container: string,
    readonly reason: string,
  ) {
    super('failed', `logs unavailable: ${reason} (${container})`, {
      hint: 'use the json-file or local logging driver (with max-size/max-file rotation), or keep the engine cache on, to read logs through Docker',
    });
  }
}

/**
 * The one way doom-ops reads a container's log: follows its TTY flag (a tty container's log is a
 * raw stream, not multiplexed frames) and its logging driver (a driver the engine cannot read back
 * throws LogsUnavailableError instead of an engine error). Streams lines; nothing is buffered.
 */
export async function* containerLogs(
  ctx: ToolContext,
  d: ContainerDetail,
  options: Omit<LogReadOptions, 'tty'> = {},
): AsyncGenerator<LogLine> {
  const reason = logsUnavailableReason(d);
  if (reason) throw new LogsUnavailableError(d.name, reason);
  try {
    yield* ctx.docker.logLines(d.id, { ...options, tty: d.tty, signal: options.signal ?? ctx.signal });
  } catch (err) {
    if (isToolError(err) && /does not support reading/i.test(err.message))
      throw new LogsUnavailableError(
        d.name,
        `logging driver ${d.logConfig.driver} does not support reading (this engine keeps no copy to read back)`,
      );
    // The engine answered, and refused to read this container's log (journald not enabled on the
    // host, a driver that failed to start…): that container's logs are unavailable, the engine is fine.
    const cause = (err as { cause?: { statusCode?: number; json?: { message?: string }; message?: string } })
      .cause;
    if (isToolError(err) && cause?.statusCode === 500)
      throw new LogsUnavailableError(
        d.name,
        `logging driver ${d.logConfig.driver}: the engine cannot read this container's log (${(cause.json?.message ?? cause.message ?? 'server error').trim()})`,
      );
    throw err;
  }
}

/**
 * A Swarm service's log, from a manager (GET /services/{id}/logs): every task's lines in one
 * stream, each with its task and node ids; follows the service's TTY flag as containerLogs does a
 * container's. Streams lines; nothing is buffered.
 */
export async function* swarmServiceLogs(
  ctx: ToolContext,
  svc: Pick<SwarmService, 'id' | 'tty'>,
  options: Omit<LogReadOptions, 'tty' | 'of'> = {},
): AsyncGenerator<LogLine> {
  // The service logs endpoint takes no `until`: lines after it are dropped here.
  const { until, ...rest } = options;
  for await (const line of ctx.docker.logLines(svc.id, {
    ...rest,
    of: 'service',
    tty: svc.tty,
    signal: options.signal ?? ctx.signal,
  })) {
    if (until !== undefined && line.time && Date.parse(line.time) > until * 1000) continue;
    yield line;
  }
}

/** Reads lines into `use` and returns null, or the reason the logs cannot be read. */
export async function forEachLogLine(
  ctx: ToolContext,
  d: ContainerDetail,
  options: Omit<LogReadOptions, 'tty'>,
  use: (line: LogLine) => unknown,
): Promise<string | null> {
  try {
    for await (const l of containerLogs(ctx, d, options)) if (use(l) === false) break;
    return null;
  } catch (err) {
    if (err instanceof LogsUnavailableError) return err.reason;
    throw err;
  }
}
