import { ToolError } from '../../errors.js';

/** Which engine we talk to, in the words a user would check (DOCKER_HOST or the socket path). */
export function describeEngine(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  return host ? `${host} (from DOCKER_HOST)` : 'unix:///var/run/docker.sock (default; DOCKER_HOST is unset)';
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
]);

function hintFor(code: string | undefined, engine: string, setting: string): string {
  switch (code) {
    case 'ENOENT':
      return `no socket there: is dockerd running? Start it (e.g. \`npm run engine\` on a dev machine) or set ${setting}. Tried ${engine}`;
    case 'EACCES':
      return `permission denied on the socket: run as root or a member of the docker group. Tried ${engine}`;
    case 'ECONNREFUSED':
      return `nothing listens there: is dockerd running and is ${setting} right? Tried ${engine}`;
    default:
      return `check that dockerd is running and ${setting} is right. Tried ${engine}`;
  }
}

/** Which engine an error is about: DOCKER_HOST's (the default), or another endpoint (a swarm node's) and the setting that names it. */
export interface EngineName {
  /** e.g. "node gpu-2's engine at tcp://10.0.0.2:2375 (swarm.nodes)". */
  engine: string;
  /** What to fix: "swarm.nodes.gpu-2". */
  setting: string;
}

/**
 * Turns a dockerode / socket error into a ToolError that names the engine and what to check.
 * `what` says which call failed ("list containers").
 */
export function engineError(
  err: unknown,
  what: string,
  opts: { timeoutMs: number; timedOut: boolean; cancelled: boolean; name?: EngineName },
): ToolError {
  const engine = opts.name?.engine ?? describeEngine();
  const setting = opts.name?.setting ?? 'DOCKER_HOST';
  if (err instanceof ToolError) return err;
  if (opts.cancelled) return new ToolError('cancelled', `${what}: cancelled`, { cause: err });
  if (opts.timedOut) {
    return new ToolError(
      'timeout',
      `Docker engine at ${engine} did not answer "${what}" within ${opts.timeoutMs} ms`,
      {
        hint: `the engine may be overloaded or ${setting} may point at something that is not a Docker engine; raise DOOM_OPS_DOCKER_TIMEOUT if it is just slow`,
        cause: err,
      },
    );
  }
  const e = err as { code?: string; statusCode?: number; message?: string; json?: { message?: string } };
  if (e.code && UNREACHABLE.has(e.code)) {
    return new ToolError(
      'upstream_unavailable',
      `cannot reach the Docker engine at ${engine}: ${e.code} while trying to ${what}`,
      {
        hint: hintFor(e.code, engine, setting),
        cause: err,
      },
    );
  }
  const detail = e.json?.message ?? e.message ?? String(err);
  if (e.statusCode === 404) return new ToolError('not_found', `${what}: ${detail}`, { cause: err });
  if (e.statusCode === 409) return new ToolError('conflict', `${what}: ${detail}`, { cause: err });
  return new ToolError('upstream_unavailable', `Docker engine at ${engine} failed to ${what}: ${detail}`, {
    hint: 'see the engine log (journalctl -u docker or dockerd output) for details',
    cause: err,
  });
}

/**
 * The endpoint answered, but not as a Docker Engine API does (GET /version gave `status` with
 * `body` instead of the engine's JSON): usually DOCKER_HOST pointing at a web server or another
 * service's port, or a socket proxy that does not allow GET /version.
 */
export function notDockerEngine(
  status: string,
  body: unknown,
  cause?: unknown,
  name?: EngineName,
): ToolError {
  const engine = name?.engine ?? describeEngine();
  const text = (
    typeof body === 'string'
      ? body
      : Buffer.isBuffer(body)
        ? body.toString('utf8')
        : JSON.stringify(body ?? null)
  )
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 80);
  return new ToolError(
    'upstream_unavailable',
    `${engine} answered, but it is not a Docker Engine API: GET /version gave ${status}${text ? ` (${text})` : ''}`,
    {
      hint: `point ${name?.setting ?? 'DOCKER_HOST'} at dockerd's API (unix:///var/run/docker.sock, or tcp://host:2375 / 2376 with TLS); if it is a Docker socket proxy, allow GET /version. Tried ${engine}`,
      ...(cause === undefined ? {} : { cause }),
    },
  );
}
