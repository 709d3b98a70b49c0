import type { DockerAdapter } from '../adapters/docker/client.js';
import { followEvents, LIFECYCLE_ACTIONS } from '../adapters/docker/event-stream.js';
import type { EngineEvent } from '../adapters/docker/types.js';
import type { Logger } from '../logger.js';
import { sleep } from '../util/concurrency.js';
import { type EventStore, eventKey } from './event-store.js';

/** What the diagnosis tools read: container lifecycle, OOM and health transitions (not exec noise). */
export const RECORDED_ACTIONS: string[] = [...LIFECYCLE_ACTIONS];

const MAX_BACKOFF_MS = 30_000;
/** On a first start, ask the engine for everything it still remembers. */
const FIRST_LOOKBACK_S = 7 * 24 * 3600;

/**
 * Follows the engine's event stream for one project and appends container events to the store,
 * so restart history survives the engine's 256-event memory and engine restarts. Reconnects with
 * backoff; each reconnect resumes from the last stored second, skipping events already stored.
 */
export class EventRecorder {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private releaseLock: (() => Promise<void>) | undefined;
  private readonly listeners: Array<(e: EngineEvent) => void> = [];
  recorded = 0;

  constructor(
    private readonly opts: { docker: DockerAdapter; store: EventStore; project: string; logger: Logger },
  ) {}

  /** Starts recording; false (with a warning) when another process already records this project. */
  async start(): Promise<boolean> {
    const lock = await this.opts.store.lock();
    if ('heldBy' in lock) {
      this.opts.logger.warn(
        { project: this.opts.project, pid: lock.heldBy, lock: lock.file },
        lock.heldBy === -1
          ? 'the recorder lock file names no process (empty or cut short); not recording here: remove it if no doom-ops process records this project'
          : 'another doom-ops process is recording this project; not recording here',
      );
      return false;
    }
    this.releaseLock = lock.release;
    this.loop = this.run();
    return true;
  }

  /** Called with each event once it is stored (the incident watcher listens here). */
  onEvent(listener: (e: EngineEvent) => void): void {
    this.listeners.push(listener);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.releaseLock?.();
  }

  private async run(): Promise<void> {
    const { store, docker, project, logger } = this.opts;
    const signal = this.abort.signal;
    let backoff = 500;
    const { lastMs, recentKeys } = await store.tail();
    let seen = recentKeys;
    let lastS =
      lastMs === null ? Math.floor(Date.now() / 1000) - FIRST_LOOKBACK_S : Math.floor(lastMs / 1000);
    while (!signal.aborted) {
      try {
        const events = followEvents(docker, {
          since: lastS,
          filters: {
            type: ['container'],
            event: RECORDED_ACTIONS,
            label: [`com.docker.compose.project=${project}`],
          },
          signal,
        });
        logger.info({ project, since: new Date(lastS * 1000).toISOString() }, 'recording engine events');
        for await (const e of events) {
          backoff = 500;
          const key = eventKey(e);
          if (seen.has(key)) continue;
          const s = Math.floor(Date.parse(e.time) / 1000);
          // Replays after a reconnect start at the last stored second: remember only that second's keys.
          if (s > lastS) seen = new Set();
          seen.add(key);
          lastS = Math.max(lastS, s);
          await store.append([e as EngineEvent]);
          this.recorded++;
          for (const l of this.listeners) l(e as EngineEvent);
        }
        if (!signal.aborted)
          logger.warn({ project }, 'engine event stream ended (engine restarting?); reconnecting');
      } catch (err) {
        if (signal.aborted) break;
        logger.warn(
          { project, err: (err as Error).message, retryInMs: backoff },
          'cannot follow engine events',
        );
      }
      await sleep(backoff, signal).catch(() => undefined);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}
