import { AsyncLocalStorage } from 'node:async_hooks';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { ToolError } from '../errors.js';
import type { Progress } from './context.js';

export interface ToolRunnerOptions {
  /** Tool runs at once; more wait in arrival order. */
  workers: number;
  /** Calls waiting for a worker at most; one more is refused as busy (never queued without bound). */
  queue: number;
  /** Measure the event loop's delay for `stats` (perf_hooks, 10 ms resolution); stop with `close`. */
  measureEventLoop?: boolean;
}

export interface RunnerStats {
  workers: number;
  active: number;
  queued: number;
  /** Identical read calls in flight, each shared by one or more callers. */
  flights: number;
  /** Callers that joined a run already in flight instead of starting their own, since start. */
  joined: number;
  /**
   * How late the event loop ran (ms) since the runner started: what a Slack ack or /healthz
   * waits at worst. Present when the runner measures it (`measureEventLoop`).
   */
  eventLoopDelayMs?: { p50: number; p99: number; max: number };
}

/** One caller of a shared run: its signal, its progress and its start hook. */
interface Joiner {
  signal: AbortSignal;
  progress(p: Progress): void;
  onStart?: () => void;
}

interface Flight {
  result: Promise<unknown>;
  joiners: Set<Joiner>;
  controller: AbortController;
  started: boolean;
  /** Callers whose outcome has not been released yet (the last one released gets the original). */
  unreleased: number;
}

/** What the shared run is given in place of one caller's signal, progress and start hook. */
export interface FlightHooks {
  signal: AbortSignal;
  progress(p: Progress): void;
  onStart(): void;
}

/**
 * Bounded work for a long-running process (`serve`: Slack, MCP, the watcher and the scheduler share
 * one): at most `workers` tool runs at once, at most `queue` waiting, the rest refused as busy, so a
 * burst cannot starve the event loop that acknowledges requests and answers /healthz. Identical
 * concurrent read calls (same key: project, tool and normalized input) share one run (single
 * flight): each caller gets the result (its own copy, but for the last one released), sees its progress, and can
 * leave on its own signal; the run itself is aborted only when every caller has left.
 */
export class ToolRunner {
  private active = 0;
  private readonly waiting: Array<{ start: () => void }> = [];
  private readonly flights = new Map<string, Flight>();
  private joined = 0;
  private readonly loop: IntervalHistogram | undefined;
  private readonly releases: Array<() => void> = [];
  /** Set while code runs in one of this runner's workers: its own calls do not wait for another. */
  private readonly inWorker = new AsyncLocalStorage<true>();
  private generation = 0;

  constructor(readonly options: ToolRunnerOptions) {
    if (!(options.workers >= 1)) throw new RangeError('ToolRunner: workers must be at least 1');
    if (options.measureEventLoop) {
      this.loop = monitorEventLoopDelay({ resolution: 10 });
      this.loop.enable();
    }
  }

  get stats(): RunnerStats {
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    return {
      workers: this.options.workers,
      active: this.active,
      queued: this.waiting.length,
      flights: this.flights.size,
      joined: this.joined,
      ...(this.loop
        ? {
            eventLoopDelayMs: {
              p50: ms(this.loop.percentile(50)),
              p99: ms(this.loop.percentile(99)),
              max: ms(this.loop.max),
            },
          }
        : {}),
    };
  }

  /**
   * Callers of one shared run are handed its result one per event-loop turn, not all in one go:
   * what each does next (render, serialize, send) then alternates with the loop's I/O, so a request
   * arriving meanwhile (a Slack ack, /healthz) waits for one caller's work, not for all of them.
   */
  private release(fn: () => void): void {
    this.releases.push(fn);
    if (this.releases.length === 1) setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    try {
      this.releases.shift()?.();
    } finally {
      // Scheduled from inside the check phase: the next one runs after the loop has polled for I/O.
      if (this.releases.length > 0) setImmediate(this.drain);
    }
  };

  /**
   * The stack changed (a change finished, or the engine reported a container's lifecycle event):
   * a read started before it is not shared with callers arriving after it.
   */
  advance(): void {
    this.generation++;
  }

  /**
   * Whether the caller runs in one of this runner's workers (a composite tool's own calls): those
   * run there and then, never joining a shared run that may itself be waiting for a worker.
   */
  get insideWorker(): boolean {
    return this.inWorker.getStore() === true;
  }

  /** The key of a shared read: `key` within the current generation (see advance). */
  flightKey(key: string): string {
    return `${this.generation}\n${key}`;
  }

  /** Stops measuring the event loop. */
  close(): void {
    this.loop?.disable();
  }

  /**
   * Runs `fn` in a worker: waits (in arrival order) while every worker is busy. Rejects with a
   * ToolError: `busy` when the queue is full, `cancelled` when `signal` aborts while waiting (then
   * `fn` never runs). A running `fn` is not interrupted here: it holds its own signal.
   */
  async run<T>(what: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    if (signal.aborted) throw cancelledWaiting(what);
    // A call made by work already in a worker (a composite tool's) runs in that worker.
    if (this.inWorker.getStore()) return fn();
    if (this.active >= this.options.workers) {
      if (this.waiting.length >= this.options.queue)
        throw new ToolError(
          'busy',
          `${what}: doom-ops is busy (${this.active} calls running, ${this.waiting.length} waiting)`,
          { hint: 'try again in a moment; an operator can raise serve.workers / serve.queue in config' },
        );
      await new Promise<void>((resolve, reject) => {
        const entry = {
          start: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = (): void => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(cancelledWaiting(what));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(entry);
      });
    } else this.active++;
    try {
      return await this.inWorker.run(true, fn);
    } finally {
      // Hand the worker to the next waiter (active stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next.start();
      else this.active--;
    }
  }

  /**
   * Single flight: the first caller with `key` starts `fn` (given hooks that fan its progress out
   * to every caller and abort only when all have left); callers arriving while it runs join it.
   * Each caller's promise settles with the run's result (a structured copy for all but the last
   * released, so no caller can change another's), or rejects `cancelled` as soon as its own signal aborts.
   */
  shared<T>(key: string, caller: Joiner, fn: (hooks: FlightHooks) => Promise<T>): Promise<T> {
    let flight = this.flights.get(key);
    // A run every caller has left is being aborted: a new caller starts a fresh one.
    if (flight?.controller.signal.aborted) flight = undefined;
    if (!flight) {
      const controller = new AbortController();
      // The first caller is in before the run starts, so it sees its start and first progress.
      const joiners = new Set<Joiner>([caller]);
      const f: Flight = { result: Promise.resolve(), joiners, controller, started: false, unreleased: 0 };
      f.result = fn({
        signal: controller.signal,
        progress: (p) => {
          for (const j of joiners) j.progress(p);
        },
        onStart: () => {
          f.started = true;
          for (const j of joiners) j.onStart?.();
        },
      }).finally(() => {
        if (this.flights.get(key) === f) this.flights.delete(key);
      });
      f.result.catch(() => undefined);
      this.flights.set(key, f);
      flight = f;
    } else {
      this.joined++;
      if (flight.started) caller.onStart?.();
    }
    return this.join(flight, caller) as Promise<T>;
  }

  private join(flight: Flight, caller: Joiner): Promise<unknown> {
    flight.joiners.add(caller);
    flight.unreleased++;
    const leave = (): void => {
      flight.joiners.delete(caller);
      if (flight.joiners.size === 0) flight.controller.abort(caller.signal.reason);
    };
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        leave();
        reject(new ToolError('cancelled', 'the call was cancelled'));
      };
      if (caller.signal.aborted) {
        flight.unreleased--;
        return onAbort();
      }
      caller.signal.addEventListener('abort', onAbort, { once: true });
      const settle = (fn: () => void) => () => {
        flight.unreleased--;
        if (caller.signal.aborted) return;
        caller.signal.removeEventListener('abort', onAbort);
        flight.joiners.delete(caller);
        fn();
      };
      flight.result.then(
        (value) =>
          // Each caller gets its own copy, taken in its own release turn (not all at once when the
          // run ends, which would hold the event loop for every caller's copy together); nobody
          // holds the original until the last caller, who gets it once every copy is taken.
          this.release(
            settle(() => {
              try {
                resolve(flight.unreleased === 0 ? value : structuredClone(value));
              } catch (err) {
                reject(err);
              }
            }),
          ),
        (err: unknown) => this.release(settle(() => reject(err))),
      );
    });
  }
}

function cancelledWaiting(what: string): ToolError {
  return new ToolError('cancelled', `${what}: cancelled while waiting for a worker`);
}
