import { z } from 'zod';
import { type MongoStatus, mongoStatus, mongoStatusSchema } from '../../adapters/mongodb/client.js';
import type { DeepCheck } from '../../config/schema.js';
import { isToolError } from '../../errors.js';
import { redact, redactValue } from '../../safety/redact.js';
import { deadline } from '../../util/deadline.js';
import type { ToolContext } from '../context.js';

/** A deep check's result, as stack_health reports it (services[].deepCheck). */
export const deepCheckResultSchema = z.object({
  kind: z.enum(['http', 'exec', 'ollama', 'mongodb']),
  ok: z.boolean(),
  detail: z.string(),
  durationMs: z.number(),
  mongodb: mongoStatusSchema
    .optional()
    .describe('kind mongodb, when the server answered: what serverStatus (and replSetGetStatus) said'),
});
export type DeepCheckResult = z.output<typeof deepCheckResultSchema>;

/** Why a request with a timeout failed: the deadline, or the socket error fetch wraps in `cause`. */
export function requestFailure(err: unknown, timeoutMs: number): string {
  const e = err as Error;
  return e.name === 'TimeoutError'
    ? `no answer within ${timeoutMs} ms`
    : ((e.cause as Error | undefined)?.message ?? e.message);
}

/**
 * A check beyond Docker's own healthcheck, from config: an HTTP GET (from doom-ops' side, e.g. a
 * port published on 127.0.0.1), a command exec'd inside a running replica, Ollama's model list, or
 * MongoDB through the driver (at the top-level mongodb.uri, from doom-ops' side). `secrets`: every
 * secret of the project (projectSecrets), masked in the detail before it is cut to 500 characters.
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
  if (check.mongodb) {
    const r = await mongodbCheck(ctx, check.timeout);
    const result = done('mongodb', r.ok, r.detail);
    return r.status ? { ...result, mongodb: redactValue(r.status, secrets) } : result;
  }
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

/**
 * MongoDB through the driver at the top-level mongodb.uri: ping, serverStatus (connections,
 * memory) and, with mongodb.replicaSet, replSetGetStatus, which must show a PRIMARY member. The
 * whole check is bounded by the deep check's timeout. Not ok: no mongodb.uri, the server does not
 * answer or refuses, or the set has no primary (the status is still returned then).
 */
async function mongodbCheck(
  ctx: ToolContext,
  timeout: number,
): Promise<{ ok: boolean; detail: string; status?: MongoStatus }> {
  const cfg = ctx.config.mongodb;
  if (!cfg?.uri)
    return {
      ok: false,
      detail:
        'deepCheck mongodb needs mongodb.uri (how doom-ops reaches MongoDB, e.g. mongodb://127.0.0.1:27017), which is not set: set it in the config file or DOOM_OPS_MONGODB_URI',
    };
  try {
    const status = await mongoStatus(cfg.uri, {
      // Finding the server gives up before the check's own deadline, so an unreachable server
      // is named as such ("cannot reach …: ECONNREFUSED") rather than as a slow one.
      timeoutMs: Math.min(cfg.timeout, Math.max(200, Math.floor(timeout * 0.8))),
      signal: deadline(ctx.signal, timeout),
      replicaSet: cfg.replicaSet,
    });
    const detail = describeMongo(status);
    const rs = status.replicaSet;
    if (rs && !rs.primary)
      return {
        ok: false,
        status,
        detail: `${detail}; replica set ${rs.set} has no PRIMARY member (${rs.members.map((m) => `${m.name} ${m.state}`).join(', ') || 'no members'})`,
      };
    return { ok: true, status, detail };
  } catch (err) {
    if (!isToolError(err) || err.code === 'cancelled') throw err;
    return { ok: false, detail: `${err.message}${err.hint ? ` (${err.hint})` : ''}` };
  }
}

/** "ping ok; MongoDB 7.0.12; connections: 3 current, 838857 available; memory: 92 MiB resident; replica set rs0: primary m1:27017, 3 member(s)". */
export function describeMongo(s: MongoStatus): string {
  const n = (v: number | null) => (v === null ? '?' : String(v));
  const rs = s.replicaSet;
  return [
    'ping ok',
    `MongoDB ${s.version}`,
    `connections: ${n(s.connections.current)} current, ${n(s.connections.available)} available`,
    `memory: ${n(s.memMiB.resident)} MiB resident`,
    ...(rs?.primary ? [`replica set ${rs.set}: primary ${rs.primary}, ${rs.members.length} member(s)`] : []),
  ].join('; ');
}
