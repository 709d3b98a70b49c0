import type { DockerAdapter } from '../adapters/docker/client.js';
import { followEvents, LIFECYCLE_ACTIONS } from '../adapters/docker/event-stream.js';
import type { EngineEvent } from '../adapters/docker/types.js';
import type { Logger } from '../logger.js';
import { sleep } from '../util/concurrency.js';
import { type EventStore, eventKey } from './event-store.js';
import { pollTaskEvents, recordsSwarm, stackSwarmEvent, taskStateKey } from './swarm-feed.js';

/** What the diagnosis tools read: container lifecycle, OOM and health transitions (not exec noise). */
export const RECORDED_ACTIONS: string[] = [...LIFECYCLE_ACTIONS];

const MAX_BACKOFF_MS = 30_000;
/** A Swarm stack's tasks are listed this often for state changes. */
const TASK_POLL_MS = 5000;
const MAX_TASK_KEYS = 100_000;
/** With stack.kind auto, whether the project is a Swarm stack is asked again this often. */
const REDETECT_MS = 30_000;
/** On a first start, ask the engine for everything it still remembers. */
const FIRST_LOOKBACK_S = 7 * 24 * 3600;

/**
 * Follows the engine's event stream for one project and appends container events to the store,
 * so restart history survives the engine's 256-event memory and engine restarts. Reconnects with
 * backoff; each reconnect resumes from the last stored second, skipping events already stored.
 * On a Swarm stack (asked again at each connect) it follows the manager's service and node events
 * instead, and lists the stack's tasks every few seconds: each new task state is stored as a
 * `task` event (the engine sends none), so the restart history outlives Swarm's task-history-limit.
 */
export class EventRecorder {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private releaseLock: (() => Promise<void>) | undefined;
  private readonly listeners: Array<(e: EngineEvent) => void> = [];
  recorded = 0;

  constructor(
    private readonly opts: {
      docker: DockerAdapter;
      store: EventStore;
      project: string;
      logger: Logger;
      /** config stack.kind: on a Swarm stack the manager's service and node events and the tasks' state changes are recorded. */
      kind?: 'auto' | 'compose' | 'swarm';
      /** How often a Swarm stack's tasks are listed for state changes (the engine sends no task events). */
      taskPollMs?: number;
      /** With kind auto: how often whether the stack is Compose or Swarm is asked again. */
      redetectMs?: number;
    },
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
    // Task states already stored (a Swarm stack's; the engine has no task events, they are polled).
    const taskSeen = new Set<string>();
    for await (const e of store.all()) if (e.type === 'task') taskSeen.add(taskStateKey(e));
    // Both feeds of a Swarm stack store through one queue, in the order they come.
    let writes: Promise<void> = Promise.resolve();
    const keep = (e: EngineEvent) => {
      // One failed write fails its caller (who reconnects), not every write after it.
      writes = writes
        .catch(() => undefined)
        .then(async () => {
          await store.append([e]);
          this.recorded++;
          for (const l of this.listeners) l(e);
        });
      return writes;
    };
    const kind = this.opts.kind ?? 'auto';
    while (!signal.aborted) {
      const stop = new AbortController();
      let poller: Promise<void> = Promise.resolve();
      let redetect: NodeJS.Timeout | undefined;
      let switched = false;
      try {
        // Cannot say now (the engine's error): Compose, until the next check says otherwise.
        const swarm = (await recordsSwarm(docker, project, kind, signal)) === true;
        // A stack deployed after the recorder started (or a Compose one replaced by a Swarm one):
        // asked again every REDETECT_MS; the stream then reconnects in the other mode.
        if (kind === 'auto') {
          redetect = setInterval(() => {
            void recordsSwarm(docker, project, kind, signal).then((now) => {
              if (now !== null && now !== swarm && !stop.signal.aborted) {
                switched = true;
                stop.abort();
              }
            });
          }, this.opts.redetectMs ?? REDETECT_MS);
          redetect.unref?.();
        }
        const events = followEvents(docker, {
          since: lastS,
          filters: swarm
            ? { type: ['service', 'node'] }
            : {
                type: ['container'],
                event: RECORDED_ACTIONS,
                label: [`com.docker.compose.project=${project}`],
              },
          signal: AbortSignal.any([signal, stop.signal]),
        });
        if (swarm) poller = this.pollTasks(AbortSignal.any([signal, stop.signal]), taskSeen, keep);
        logger.info(
          { project, since: new Date(lastS * 1000).toISOString(), swarm },
          swarm
            ? "recording the swarm manager's service and node events and the stack's task states"
            : 'recording engine events',
        );
        for await (const e of events) {
          backoff = 500;
          if (swarm && !stackSwarmEvent(project, e)) continue;
          const key = eventKey(e);
          if (seen.has(key)) continue;
          const s = Math.floor(Date.parse(e.time) / 1000);
          // Replays after a reconnect start at the last stored second: remember only that second's keys.
          if (s > lastS) seen = new Set();
          seen.add(key);
          lastS = Math.max(lastS, s);
          await keep(e as EngineEvent);
        }
        if (switched)
          logger.info({ project }, 'the stack changed kind (Compose or Swarm): recording it anew');
        else if (!signal.aborted)
          logger.warn({ project }, 'engine event stream ended (engine restarting?); reconnecting');
      } catch (err) {
        if (signal.aborted) break;
        logger.warn(
          { project, err: (err as Error).message, retryInMs: backoff },
          'cannot follow engine events',
        );
      } finally {
        clearInterval(redetect);
        stop.abort();
        await poller;
        await writes.catch(() => undefined);
      }
      if (switched) continue;
      await sleep(backoff, signal).catch(() => undefined);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /**
   * Lists the Swarm stack's tasks every taskPollMs until `signal` aborts, keeping each task state
   * not stored yet (taskSeen) as a `task` event. A failed listing is logged and tried again.
   */
  private async pollTasks(
    signal: AbortSignal,
    taskSeen: Set<string>,
    keep: (e: EngineEvent) => Promise<void>,
  ): Promise<void> {
    const { docker, project, logger } = this.opts;
    const every = this.opts.taskPollMs ?? TASK_POLL_MS;
    while (!signal.aborted) {
      try {
        for (const e of await pollTaskEvents(docker, project, signal)) {
          const key = taskStateKey(e);
          if (taskSeen.has(key)) continue;
          // Bounded: the manager keeps a few tasks per slot, so old keys never come back.
          if (taskSeen.size >= MAX_TASK_KEYS) taskSeen.clear();
          taskSeen.add(key);
          await keep(e);
        }
      } catch (err) {
        if (signal.aborted) return;
        logger.warn({ project, err: (err as Error).message }, "cannot list the swarm stack's tasks");
      }
      await sleep(every, signal).catch(() => undefined);
    }
  }
}
