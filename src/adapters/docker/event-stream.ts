import type { IncomingMessage } from 'node:http';
import type { DockerAdapter } from './client.js';
import { engineError } from './endpoint.js';
import { LineSplitter } from './line-splitter.js';
import type { EngineEvent } from './types.js';

/**
 * Container lifecycle actions, OOM and health transitions (not the exec events of health probes):
 * what the recorder keeps and the diagnosis tools read.
 */
export const LIFECYCLE_ACTIONS = [
  'create',
  'start',
  'die',
  'oom',
  'kill',
  'stop',
  'restart',
  'destroy',
  'health_status',
] as const;

/** One line of GET /events. */
export function parseEvent(line: string): EngineEvent {
  const e = JSON.parse(line) as {
    Type?: string;
    Action?: string;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
    time?: number;
    timeNano?: number;
  };
  const attributes = e.Actor?.Attributes ?? {};
  return {
    time: new Date(e.timeNano ? e.timeNano / 1e6 : (e.time ?? 0) * 1000).toISOString(),
    type: e.Type ?? '',
    action: e.Action ?? '',
    id: e.Actor?.ID ?? '',
    name: attributes.name,
    attributes,
  };
}

/**
 * Follows GET /events from `since` (unix seconds; the engine replays what it still holds) until
 * the stream ends (engine stopped) or `signal` aborts. Only connecting has a deadline;
 * `onConnected` is called once the engine has answered (every later event will be delivered).
 */
export async function* followEvents(
  adapter: DockerAdapter,
  options: {
    since: number;
    filters: Record<string, string[]>;
    signal: AbortSignal;
    onConnected?: () => void;
  },
): AsyncGenerator<EngineEvent> {
  const stream = await adapter.call('follow engine events', options.signal, async (s) => {
    const res = (await adapter.docker.getEvents({
      since: options.since,
      filters: options.filters,
      abortSignal: options.signal,
    })) as unknown as IncomingMessage;
    if (s.aborted) res.destroy();
    return res;
  });
  options.onConnected?.();
  const splitter = new LineSplitter(65_536);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const line of splitter.push(chunk)) if (line.trim()) yield parseEvent(line);
    }
  } catch (err) {
    if (options.signal.aborted) return;
    throw engineError(err, 'follow engine events', {
      timeoutMs: adapter.timeoutMs,
      timedOut: false,
      cancelled: false,
    });
  } finally {
    stream.destroy();
  }
}
