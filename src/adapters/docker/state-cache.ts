import type { Logger } from '../../logger.js';
import { sleep } from '../../util/concurrency.js';
import type { DockerAdapter } from './client.js';
import { followEvents, LIFECYCLE_ACTIONS } from './event-stream.js';
import { LABEL } from './labels.js';
import type { ContainerDetail, EngineEvent } from './types.js';

const FULL_ID = /^[0-9a-f]{64}$/;
const MAX_BACKOFF_MS = 30_000;
/** Container actions that change what a read reports (exec events of health probes are not). */
const LIFECYCLE = new Set<string>([...LIFECYCLE_ACTIONS, 'pause', 'unpause', 'update', 'rename']);
/** Containers whose event counts are kept at most (the engine is shared: others' too). */
const MAX_TRACKED = 10_000;

/** Where an inspect started: the cache's connection and the container's event count then. */
export interface CacheTicket {
  epoch: number;
  events: number;
}

export interface StateCacheStats {
  live: boolean;
  entries: number;
  hits: number;
  misses: number;
}

/**
 * Container inspects of one Compose project, kept in memory while an engine event stream is
 * connected and dropped on the container's next event. Any container event counts (start, die,
 * health_status, the exec events of each health probe, update, rename, …) and any network event
 * naming it (connect, disconnect), so an answer is never staler than one event. An inspect that
 * an event overtook is not stored (its ticket no longer matches); losing the stream clears
 * everything and serves nothing until it is connected again. Only full container ids of the
 * project are kept; callers get copies.
 */
export class ContainerStateCache {
  private readonly entries = new Map<string, { detail: ContainerDetail; at: number }>();
  /**
   * Called on each lifecycle event of a container of the project (not for exec or network
   * events), and with no event when the stream connects or is lost (events may have been missed).
   */
  onLifecycle: ((e?: EngineEvent) => void) | undefined;
  private readonly events = new Map<string, number>();
  private epoch = 0;
  private connected = false;
  private hits = 0;
  private misses = 0;

  /**
   * `maxAgeMs`: an entry is served at most this long after it was read, events or not (bounds what
   * an event the engine dropped or delayed, or a stalled stream, could cost).
   */
  constructor(
    readonly project: string,
    readonly maxAgeMs = 5000,
  ) {}

  get stats(): StateCacheStats {
    return { live: this.connected, entries: this.entries.size, hits: this.hits, misses: this.misses };
  }

  /** A copy of the container's inspect, if it is held and the stream is connected. */
  get(id: string): ContainerDetail | undefined {
    const held = this.connected ? this.entries.get(id) : undefined;
    const hit = held && Date.now() - held.at <= this.maxAgeMs ? held.detail : undefined;
    if (hit) this.hits++;
    else if (this.connected && FULL_ID.test(id)) this.misses++;
    return hit ? structuredClone(hit) : undefined;
  }

  /** Taken before an inspect starts; `put` stores its answer only if nothing happened since. */
  ticket(id: string): CacheTicket | undefined {
    if (!this.connected || !FULL_ID.test(id)) return undefined;
    return { epoch: this.epoch, events: this.events.get(id) ?? 0 };
  }

  put(id: string, detail: ContainerDetail, ticket: CacheTicket): void {
    if (!this.connected || ticket.epoch !== this.epoch) return;
    if ((this.events.get(id) ?? 0) !== ticket.events) return;
    if (detail.id !== id || detail.labels[LABEL.project] !== this.project) return;
    this.entries.set(id, { detail: structuredClone(detail), at: Date.now() });
  }

  /** One engine event: the container it names (a network event's `container`) is dropped. */
  onEvent(e: EngineEvent): void {
    const id = e.type === 'network' ? e.attributes.container : e.type === 'container' ? e.id : undefined;
    if (!id) return;
    this.entries.delete(id);
    // Counts are kept after a destroy too, so an inspect it overtook is not stored; bounded by
    // starting over (every ticket taken before becomes stale).
    if (this.events.size >= MAX_TRACKED && !this.events.has(id)) {
      this.epoch++;
      this.entries.clear();
      this.events.clear();
    }
    this.events.set(id, (this.events.get(id) ?? 0) + 1);
    if (
      e.type === 'container' &&
      e.attributes[LABEL.project] === this.project &&
      LIFECYCLE.has(e.action.split(':')[0]!)
    )
      this.onLifecycle?.(e);
  }

  /**
   * Drops everything held, and every inspect in flight is not stored: a change is starting or
   * has finished, and what it did may not have reached the event stream yet.
   */
  invalidate(): void {
    this.epoch++;
    this.entries.clear();
  }

  /** The stream is connected: from now on every event reaches onEvent. */
  markConnected(): void {
    this.epoch++;
    this.connected = true;
    this.onLifecycle?.();
  }

  /** The stream is lost: events may be missed, so nothing held can be trusted. */
  markDisconnected(): void {
    this.epoch++;
    this.connected = false;
    this.entries.clear();
    this.events.clear();
    this.onLifecycle?.();
  }
}

/**
 * Follows the engine's container and network events into `cache` until `signal` aborts,
 * reconnecting with backoff (the cache serves nothing while disconnected). Resolves when stopped.
 */
export async function followStateEvents(
  docker: DockerAdapter,
  cache: ContainerStateCache,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  let backoff = 500;
  while (!signal.aborted) {
    try {
      const events = followEvents(docker, {
        since: Math.floor(Date.now() / 1000),
        filters: { type: ['container', 'network'] },
        signal,
        onConnected: () => cache.markConnected(),
      });
      for await (const e of events) {
        backoff = 500;
        cache.onEvent(e);
      }
      if (!signal.aborted) logger.warn('engine event stream for the state cache ended; reconnecting');
    } catch (err) {
      if (!signal.aborted)
        logger.warn(
          { err: (err as Error).message, retryInMs: backoff },
          'state cache: cannot follow engine events',
        );
    } finally {
      cache.markDisconnected();
    }
    await sleep(backoff, signal).catch(() => undefined);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}
