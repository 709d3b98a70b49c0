import { connect } from 'node:net';
import { z } from 'zod';
import type { SmokeProbe } from '../../config/schema.js';
import { isToolError } from '../../errors.js';
import { redact } from '../../safety/redact.js';
import { deadline } from '../../util/deadline.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { requestFailure } from '../lib/deep-check.js';
import { projectSecrets } from '../lib/secrets.js';
import { stackReplicas } from '../lib/stack.js';

const result = z.object({
  name: z.string(),
  kind: z.enum(['http', 'exec', 'tcp']),
  target: z.string().describe('URL, host:port, or service and command'),
  ok: z.boolean(),
  latencyMs: z.number(),
  detail: z.string(),
});
type Result = z.output<typeof result>;

function tcpConnect(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, signal: deadline(signal, timeoutMs) });
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

/** Masks the project's secrets and the secret patterns; applied before any cut, so no secret is left half-visible. */
type Clean = (text: string) => string;

async function probe(
  ctx: ToolContext,
  p: SmokeProbe,
  running: Map<string, string>,
  clean: Clean,
): Promise<Result> {
  const started = performance.now();
  const expect = p.expect ? new RegExp(p.expect, 'm') : undefined;
  const done = (kind: Result['kind'], target: string, ok: boolean, detail: string): Result => ({
    name: p.name,
    kind,
    target,
    ok,
    latencyMs: Math.round(performance.now() - started),
    detail: clean(detail).slice(0, 300),
  });
  const failure = (err: unknown) => requestFailure(err, p.timeout);
  if (p.http) {
    try {
      const res = await fetch(p.http, {
        signal: deadline(ctx.signal, p.timeout),
      });
      const body = (await res.text()).slice(0, 64 * 1024);
      if (!res.ok) return done('http', p.http, false, `HTTP ${res.status}`);
      if (expect && !expect.test(body))
        return done(
          'http',
          p.http,
          false,
          `HTTP ${res.status} but the body does not match /${p.expect}/: ${clean(body).slice(0, 120)}`,
        );
      return done('http', p.http, true, `HTTP ${res.status}`);
    } catch (err) {
      return done('http', p.http, false, failure(err));
    }
  }
  if (p.tcp) {
    const target = `${p.tcp.host}:${p.tcp.port}`;
    try {
      await tcpConnect(p.tcp.host, p.tcp.port, p.timeout, ctx.signal);
      return done('tcp', target, true, 'connected');
    } catch (err) {
      return done('tcp', target, false, failure(err));
    }
  }
  const e = p.exec!;
  const target = `${e.service}: ${e.argv.join(' ')}`;
  const id = running.get(e.service);
  if (!id) return done('exec', target, false, `no running replica of ${e.service} to run it in`);
  try {
    const r = await ctx.docker.exec(id, e.argv, { signal: ctx.signal, timeoutMs: p.timeout });
    const raw = r.stdout.trim();
    const out = clean(raw);
    if (r.exitCode !== 0)
      return done('exec', target, false, `exit ${r.exitCode}: ${(r.stderr || r.stdout).trim()}`);
    if (expect && !expect.test(raw))
      return done('exec', target, false, `output does not match /${p.expect}/: ${out.slice(0, 120)}`);
    return done('exec', target, true, `exit 0${out ? `: ${out.slice(0, 120)}` : ''}`);
  } catch (err) {
    if (!isToolError(err)) throw err;
    return done('exec', target, false, err.message);
  }
}

export const smokeTest = defineTool({
  name: 'smoke_test',
  title: 'Smoke test the stack',
  description:
    "The handbook's smoke-test checklist (smoke.probes in config: orchestrator gRPC, OpenSearch cluster health " +
    'green/yellow, MongoDB ping, NATS monitoring, dashboard /api/health, noVNC) run concurrently, each with its latency ' +
    'and a pass/fail with the reason. Run it after stack_health says the containers are healthy; it checks that the ' +
    'services answer.',
  summary:
    'Use after stack_health says the containers are healthy, to check that the services answer. Returns ' +
    'each configured probe with pass or fail, its latency and the reason.',
  risk: 'read',
  idempotent: true,
  input: z.object({
    only: z.array(z.string().min(1)).max(30).optional().describe('Run only the probes with these names'),
  }),
  output: z.object({
    ok: z.boolean(),
    summary: z.string(),
    probes: z.array(result),
  }),
  async run(ctx, input) {
    const probes = ctx.config.smoke.probes.filter((p) => !input.only || input.only.includes(p.name));
    const running = new Map<string, string>();
    for (const c of await stackReplicas(ctx))
      if (c.state === 'running' && !running.has(c.service)) running.set(c.service, c.id);
    // Every secret of the project: an exec probe in one service may print another's password.
    const secrets = await projectSecrets(ctx);
    const clean: Clean = (text) => redact(text, secrets);
    const results = await Promise.all(probes.map((p) => probe(ctx, p, running, clean)));
    const failed = results.filter((r) => !r.ok);
    return {
      ok: failed.length === 0,
      summary:
        probes.length === 0
          ? 'no smoke probes configured (smoke.probes)'
          : failed.length === 0
            ? `all ${results.length} smoke probes passed`
            : `${failed.length} of ${results.length} smoke probes failed: ${failed.map((f) => f.name).join(', ')}`,
      probes: results,
    };
  },
});
