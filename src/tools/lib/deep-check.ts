import type { DeepCheck } from '../../config/schema.js';
import { isToolError } from '../../errors.js';
import { redact } from '../../safety/redact.js';
import { deadline } from '../../util/deadline.js';
import type { ToolContext } from '../context.js';

export interface DeepCheckResult {
  kind: 'http' | 'exec' | 'ollama';
  ok: boolean;
  detail: string;
  durationMs: number;
}

/** Why a request with a timeout failed: the deadline, or the socket error fetch wraps in `cause`. */
export function requestFailure(err: unknown, timeoutMs: number): string {
  const e = err as Error;
  return e.name === 'TimeoutError'
    ? `no answer within ${timeoutMs} ms`
    : ((e.cause as Error | undefined)?.message ?? e.message);
}

/**
 * A check beyond Docker's own healthcheck, from config: an HTTP GET (from doom-ops' side, e.g. a
 * port published on 127.0.0.1) or a command exec'd inside a running replica. `secrets`: every secret
 * of the project (projectSecrets), masked in the detail before it is cut to 500 characters.
 */
export async function runDeepCheck(
  ctx: ToolContext,
  check: DeepCheck,
  containerId: string | undefined,
  secrets: string[],
): Promise<DeepCheckResult> {
  const started = Date.now();
  const done = (kind: DeepCheckResult['kind'], ok: boolean, detail: string): DeepCheckResult => ({
    kind,
    ok,
    detail: redact(detail, secrets).slice(0, 500),
    durationMs: Date.now() - started,
  });
  if (check.ollama) return ollamaCheck(ctx, check.ollama, check.timeout, done);
  if (check.http) {
    try {
      const res = await fetch(check.http, {
        signal: deadline(ctx.signal, check.timeout),
      });
      await res.body?.cancel();
      return done('http', res.ok, `GET ${check.http} -> ${res.status}`);
    } catch (err) {
      return done('http', false, `GET ${check.http} failed: ${requestFailure(err, check.timeout)}`);
    }
  }
  const argv = check.exec ?? [];
  if (!containerId) return done('exec', false, 'no running replica to run the check in');
  try {
    const r = await ctx.docker.exec(containerId, argv, { signal: ctx.signal, timeoutMs: check.timeout });
    const output = (r.stdout + r.stderr).trim();
    return done(
      'exec',
      r.exitCode === 0,
      `${argv.join(' ')} -> exit ${r.exitCode}${output ? `: ${output}` : ''}`,
    );
  } catch (err) {
    if (!isToolError(err)) throw err;
    return done('exec', false, `${argv.join(' ')} failed: ${err.message}`);
  }
}

/** Ollama answers /api/tags and has the model pulled (`name` or `name:latest`). */
async function ollamaCheck(
  ctx: ToolContext,
  o: { url: string; model: string },
  timeout: number,
  done: (kind: 'ollama', ok: boolean, detail: string) => DeepCheckResult,
): Promise<DeepCheckResult> {
  const url = `${o.url.replace(/\/+$/, '')}/api/tags`;
  try {
    const res = await fetch(url, { signal: deadline(ctx.signal, timeout) });
    if (!res.ok) {
      await res.body?.cancel();
      return done('ollama', false, `GET ${url} -> ${res.status}`);
    }
    const body = (await res.json()) as { models?: Array<{ name?: string; model?: string }> };
    const names = (body.models ?? []).map((m) => m.name ?? m.model ?? '');
    const want = o.model.includes(':') ? [o.model] : [o.model, `${o.model}:latest`];
    return names.some((n) => want.includes(n))
      ? done('ollama', true, `GET ${url} -> ${res.status}; model ${o.model} present`)
      : done(
          'ollama',
          false,
          `model ${o.model} is not pulled (has: ${names.join(', ') || 'none'}); run \`ollama pull ${o.model}\` in the ollama container`,
        );
  } catch (err) {
    return done('ollama', false, `GET ${url} failed: ${requestFailure(err, timeout)}`);
  }
}
