import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ApiRecorder {
  /** DOCKER_HOST value that routes through the recorder. */
  dockerHost: string;
  socketPath: string;
  /** "METHOD /path" of every request seen, API version prefix and query string removed. */
  requests: string[];
  close(): Promise<void>;
}

export interface HoldOptions {
  /** Requests ("METHOD /path", normalised as in `requests`) whose answer is held back. */
  match: RegExp;
  /** How long the engine's answer is held after such a request has passed through whole. */
  ms: number;
  /** Called once the matching request has been passed to the engine (its answer not yet relayed). */
  onHeld?: (request: string) => void;
}

// Anywhere in the stream: a keep-alive request can follow a JSON body that ends without CRLF.
const REQUEST_LINE = /(GET|HEAD|POST|PUT|DELETE) (\/[^ \r\n]*) HTTP\/1\.[01]\r\n/g;

/**
 * A byte-level relay between a Unix socket and the engine's socket that notes each HTTP request
 * line passing through (hijacked exec and attach streams keep working since bytes are only copied).
 * Used to check that doom-ops calls only the Engine API endpoints the README lists for a proxy.
 */
export async function startApiRecorder(
  engineSocket = '/var/run/docker.sock',
  hold?: HoldOptions,
): Promise<ApiRecorder> {
  const dir = await mkdtemp(join(tmpdir(), 'doom-ops-api-'));
  const socketPath = join(dir, 'docker.sock');
  const requests: string[] = [];
  const server: Server = createServer((client) => {
    const engine = createConnection(engineSocket);
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      // Latin-1 keeps one char per byte; 1 KiB of the previous chunk catches lines split across chunks.
      const text = tail + chunk.toString('latin1');
      let held: string | undefined;
      for (const m of text.matchAll(REQUEST_LINE)) {
        if (m.index + m[0].length <= tail.length) continue;
        const request = normalise(m[1]!, m[2]!);
        requests.push(request);
        if (hold?.match.test(request)) held = request;
      }
      tail = text.slice(-1024);
      // The request goes through now; the engine's answer to it waits (a client cancel lands first).
      engine.write(chunk);
      if (held !== undefined) {
        holdUntil = Date.now() + hold!.ms;
        const request = held;
        setImmediate(() => hold!.onHeld?.(request));
      }
    });
    let holdUntil = 0;
    const pending: Buffer[] = [];
    let flushing: NodeJS.Timeout | undefined;
    engine.on('data', (chunk: Buffer) => {
      const wait = holdUntil - Date.now();
      if (wait <= 0 && pending.length === 0) {
        client.write(chunk);
        return;
      }
      pending.push(chunk);
      flushing ??= setTimeout(
        () => {
          for (const c of pending.splice(0)) client.write(c);
          flushing = undefined;
        },
        Math.max(wait, 0),
      );
    });
    client.on('end', () => engine.end());
    engine.on('end', () => {
      const finish = () => (flushing ? setTimeout(finish, 10) : client.end());
      finish();
    });
    const end = () => {
      client.destroy();
      engine.destroy();
    };
    client.on('error', end);
    engine.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    dockerHost: `unix://${socketPath}`,
    socketPath,
    requests,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function normalise(method: string, url: string): string {
  const path = url.split('?')[0]!.replace(/^\/v\d+\.\d+/, '');
  return `${method} ${path}`;
}
