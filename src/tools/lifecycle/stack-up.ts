import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { compose, detectCompose } from '../../adapters/compose/cli.js';
import type { ContainerDetail } from '../../adapters/docker/types.js';
import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { stackDeploy } from '../../adapters/swarm/deploy.js';
import { durationMs } from '../../config/schema.js';
import { ToolError } from '../../errors.js';
import { probeFailure } from '../../knowledge/health-probe.js';
import type { ToolContext } from '../context.js';
import { defineTool, toolNamed } from '../define-tool.js';
import { invokeTool } from '../invoke.js';
import { stackKind } from '../lib/stack-kind.js';
import { downCounts, scaleBackUp, swarmServiceStates } from '../lib/swarm-lifecycle.js';

const POLL_MS = 2000;

const serviceState = z.object({
  service: z.string(),
  state: z.string().describe('running, exited, restarting, missing…'),
  health: z.string().nullable().describe('healthy, unhealthy, starting, or null without a healthcheck'),
  ready: z.boolean(),
  failed: z.boolean().describe('unhealthy past its start period, or stopped and not being restarted'),
});
type ServiceState = z.output<typeof serviceState>;

/**
 * A container still coming up although Docker already calls it unhealthy: running, never
 * restarted, and every failing probe so far was refused (nothing listens yet). Services without a
 * start_period look like this while they start.
 */
function stillStarting(d: ContainerDetail): boolean {
  const failures = (d.health?.log ?? []).filter((p) => p.exitCode !== 0);
  return (
    d.state.running &&
    !d.state.restarting &&
    d.restartCount === 0 &&
    failures.length > 0 &&
    failures.every((p) => probeFailure(p) === 'refused')
  );
}

async function states(
  ctx: ToolContext,
  services: string[],
  startedAt: number,
  slowStarters: Set<string>,
): Promise<ServiceState[]> {
  const stack = await ctx.docker.listStack(ctx.project, ctx.signal);
  const details = await ctx.docker.inspectMany(
    stack.map((c) => c.id),
    ctx.signal,
  );
  return services.map((service) => {
    const mine = details.filter((d) => d.service === service);
    if (mine.length === 0) return { service, state: 'missing', health: null, ready: false, failed: false };
    const d = mine[0]!;
    const health = d.health?.status ?? null;
    const running = d.state.running;
    const ready = mine.every((x) => x.state.running && (x.health === null || x.health?.status === 'healthy'));
    const startPeriod = ctx.config.services[service]?.startPeriod ?? 0;
    const pastStart = Date.now() - startedAt > startPeriod;
    const starting = mine.some((x) => x.health?.status === 'unhealthy' && stillStarting(x));
    if (starting && mine.some((x) => x.healthcheck && x.healthcheck.startPeriodNs === 0))
      slowStarters.add(service);
    const failed =
      (health === 'unhealthy' && pastStart && !starting) ||
      (!running && !d.state.restarting && d.state.status !== 'created');
    return { service, state: d.state.status, health, ready, failed: !ready && failed };
  });
}

export const stackUp = defineTool({
  name: 'stack_up',
  title: 'Start the stack',
  description:
    "The handbook's start_stack.sh: `compose up -d` with the configured Compose files (or the base file plus the " +
    'prod, dev or gpu overlay), then waits until every service is healthy (start periods respected, bounded by ' +
    'timeout; a container that is running, never restarted, and whose probe is only refused is still starting), then runs ' +
    'smoke_test. A service that fails gets the unhealthy-service runbook and its findings are ' +
    'returned. Uses `docker compose` v2 when present, `docker-compose` v1 otherwise. On a Swarm stack (stack.kind swarm, ' +
    'or detected): `docker stack deploy` of the same files (DOCKER_HOST a manager), then each service stack_down scaled to 0 ' +
    'goes back to the count it had; it waits until every service runs the tasks it wants, and a service whose task ' +
    'fails or cannot be placed is reported with its problems (smoke_test and runbooks do not run on Swarm yet).',
  summary:
    'Use to start the stack (compose up -d) and wait until every service is healthy. Returns each ' +
    "service's state, runbook findings for failures and the smoke_test result.",
  risk: 'write',
  stackKinds: ['compose', 'swarm'],
  // run_runbook and smoke_test, through ctx.tools.
  callsTools: true,
  idempotent: true,
  input: z.object({
    overlay: z
      .enum(['prod', 'dev', 'gpu'])
      .optional()
      .describe('Base file plus docker-compose.<overlay>.yml (default: compose.files from config)'),
    timeout: durationMs
      .default(120_000)
      .describe('How long to wait for every service to be healthy (default 2m)'),
    smoke: z.boolean().default(true).describe('Run smoke_test once every service is healthy (default true)'),
  }),
  output: z.object({
    project: z.string(),
    compose: z.string().describe('the Compose command and version used'),
    files: z.array(z.string()),
    ready: z.boolean(),
    durationMs: z.number(),
    services: z.array(serviceState),
    failures: z.array(z.object({ service: z.string(), findings: z.unknown() })),
    smoke: z.unknown().nullable().describe('smoke_test output, when it ran'),
    notes: z
      .array(z.string())
      .describe(
        'what to improve even when it came up: e.g. a healthcheck with no start_period that was refused while starting',
      ),
    summary: z.string(),
  }),
  async run(ctx, input) {
    const started = Date.now();
    const dir = resolve(ctx.config.compose.dir);
    const names = input.overlay
      ? [ctx.config.compose.files[0] ?? 'docker-compose.yml', `docker-compose.${input.overlay}.yml`]
      : ctx.config.compose.files;
    const files = names.map((f) => resolve(dir, f));
    const missing = files.filter((f) => !existsSync(f));
    if ((await stackKind(ctx)) === 'swarm') return swarmUp(ctx, input, files, missing, started);
    if (missing.length)
      throw new ToolError('not_found', `Compose file(s) not found: ${missing.join(', ')}`, {
        hint: 'set compose.dir and compose.files in the config to where the stack is defined',
      });
    const c = await detectCompose();
    ctx.progress({ progress: 0, message: 'compose up -d' });
    await compose(ctx.project, files, ['up', '-d'], { env: process.env as Record<string, string> });
    const services = (await compose(ctx.project, files, ['config', '--services']))
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean)
      .sort();

    let current: ServiceState[] = [];
    const slowStarters = new Set<string>();
    while (Date.now() - started < input.timeout) {
      current = await states(ctx, services, started, slowStarters);
      const ready = current.filter((s) => s.ready).length;
      ctx.progress({
        progress: ready,
        total: services.length,
        message: `${ready}/${services.length} services healthy`,
      });
      if (current.every((s) => s.ready || s.failed)) break;
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
    }
    const notReady = current.filter((s) => !s.ready);
    const failures = [];
    for (const s of notReady) {
      const findings = await invokeTool(toolNamed(ctx, 'run_runbook'), ctx, {
        id: 'unhealthy-service',
        service: s.service,
      }).catch((err: Error) => ({ error: err.message }));
      failures.push({ service: s.service, findings });
    }
    const smoke =
      notReady.length === 0 && input.smoke ? await invokeTool(toolNamed(ctx, 'smoke_test'), ctx, {}) : null;
    return {
      project: ctx.project,
      compose: `${c.file}${c.prefix.length ? ` ${c.prefix.join(' ')}` : ''} ${c.version}`,
      files,
      ready: notReady.length === 0,
      durationMs: Date.now() - started,
      services: current,
      failures,
      smoke,
      notes: [...slowStarters].map((svc) =>
        current.find((c) => c.service === svc)?.ready
          ? `${svc}: its health probe was refused (nothing listened yet) while it started, and its healthcheck has no start_period, so Docker reported it unhealthy meanwhile; set healthcheck.start_period (e.g. 30s) to how long it takes to start`
          : `${svc}: its health probe was refused for the whole wait (${Math.round((Date.now() - started) / 1000)} s): nothing listens on the port the probe asks; check the port in its healthcheck and that it serves there at all (a start_period only helps a slow starter)`,
      ),
      summary:
        notReady.length === 0
          ? `all ${services.length} services healthy in ${Math.round((Date.now() - started) / 1000)}s${smoke ? `; ${(smoke as { summary: string }).summary}` : ''}`
          : `${notReady.map((s) => `${s.service} (${s.health ?? s.state})`).join(', ')} not healthy${Date.now() - started >= input.timeout ? ` after ${Math.round(input.timeout / 1000)}s` : ''}; runbook findings included`,
    };
  },
});

/**
 * stack_up on Swarm: `docker stack deploy` of the files (when they exist; a stack that exists
 * already is only scaled back when they do not), the counts stack_down recorded restored, then a
 * bounded wait until every service runs what it wants (swarmServiceStates).
 */
async function swarmUp(
  ctx: ToolContext,
  input: { timeout: number },
  files: string[],
  missing: string[],
  started: number,
) {
  const counts = await downCounts(ctx);
  const notes: string[] = [];
  let how = 'docker stack deploy';
  if (missing.length) {
    if (!(await new SwarmAdapter(ctx.docker).services(ctx.project, ctx.signal)).length)
      throw new ToolError('not_found', `Compose file(s) not found: ${missing.join(', ')}`, {
        hint: 'set compose.dir and compose.files in the config to the files docker stack deploy should use',
      });
    how = 'scale back only';
    notes.push(
      `Compose file(s) not found (${missing.join(', ')}): the stack was not deployed again, only scaled back`,
    );
  } else {
    ctx.progress({ progress: 0, message: `docker stack deploy ${ctx.project}` });
    try {
      // The docker CLI speaks to the engine doom-ops speaks to.
      await stackDeploy(ctx.project, files, {
        signal: ctx.signal,
        env: { ...process.env, DOCKER_HOST: ctx.docker.dockerHost },
      });
    } catch (err) {
      // A deploy that failed part-way has replaced the labels of the services it got to: their
      // recorded counts are restored now, or they would be lost; the others keep their labels.
      const left = await downCounts(ctx).catch(() => counts);
      const touched = new Map([...counts].filter(([name]) => !left.has(name)));
      const back = await scaleBackUp(ctx, touched, { keepLabel: true }).catch(() => [] as string[]);
      if (err instanceof ToolError && back.length)
        throw new ToolError(err.code, err.message, {
          hint: `${err.hint ? `${err.hint}; ` : ''}the services it had already updated were scaled back to the counts stack_down recorded (${back.join(', ')}); the others are still at 0 and keep theirs for the next stack_up`,
          cause: err,
        });
      throw err;
    }
  }
  const back = await scaleBackUp(ctx, counts);
  if (back.length) notes.push(`scaled back to the counts stack_down recorded: ${back.join(', ')}`);
  let current: Awaited<ReturnType<typeof swarmServiceStates>> = [];
  while (Date.now() - started < input.timeout) {
    current = await swarmServiceStates(ctx, started);
    const ready = current.filter((s) => s.ready).length;
    ctx.progress({
      progress: ready,
      total: current.length,
      message: `${ready}/${current.length} services running`,
    });
    if (current.length && current.every((s) => s.ready || s.failed)) break;
    await sleep(POLL_MS, undefined, { signal: ctx.signal });
  }
  const notReady = current.filter((s) => !s.ready);
  notes.push(
    'smoke_test and the unhealthy-service runbook do not run on a Swarm stack yet; stack_health shows each service',
  );
  return {
    project: ctx.project,
    compose: how,
    files: missing.length ? [] : files,
    ready: current.length > 0 && notReady.length === 0,
    durationMs: Date.now() - started,
    services: current.map(({ problems: _, ...s }) => s),
    failures: notReady.map((s) => ({ service: s.service, findings: { problems: s.problems } })),
    smoke: null,
    notes,
    summary:
      notReady.length === 0
        ? `all ${current.length} services running in ${Math.round((Date.now() - started) / 1000)}s`
        : `${notReady.map((s) => `${s.service} (${s.state}${s.problems[0] ? `: ${s.problems[0]}` : ''})`).join(', ')} not running${Date.now() - started >= input.timeout ? ` after ${Math.round(input.timeout / 1000)}s` : ''}`,
  };
}
