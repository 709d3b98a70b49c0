import { z } from 'zod';
import type { ContainerDetail } from '../../adapters/docker/types.js';
import { drillRecord, drillWarning } from '../../backup/drill-record.js';
import { describeInterrupted, leftStopped, readJournal, readStoppedForBackup } from '../../backup/journal.js';
import { serviceName } from '../../config/schema.js';
import { redact } from '../../safety/redact.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { deepCheckResultSchema, runDeepCheck } from '../lib/deep-check.js';
import { unmetDependencies } from '../lib/dependencies.js';
import { neverStartedOut, probeOut, swarmTaskOut } from '../lib/diagnosis-schema.js';
import { recentHistory } from '../lib/evidence.js';
import { pidsUsage } from '../lib/pids.js';
import { projectSecrets } from '../lib/secrets.js';
import {
  type ContainerHealth,
  containerHealth,
  overallVerdict,
  PROCESS_OOM_WINDOW_MS,
  SERVICE_STATUSES,
  serviceHealth,
  statusWithDeepCheck,
} from '../lib/service-status.js';
import { stackReplicas } from '../lib/stack.js';
import { stackKind } from '../lib/stack-kind.js';
import { refineStartFailure } from '../lib/start-failure.js';
import { swarmStackHealth } from '../lib/swarm-health.js';

const status = z.enum(SERVICE_STATUSES);
/** How far back health reads events to settle an ambiguous exit 137. */
const HISTORY_MAX_MS = 24 * 3600_000;

const containerOut = z.object({
  name: z.string(),
  id: z.string(),
  number: z.number(),
  status,
  state: z.string(),
  health: z.string().nullable(),
  restartCount: z.number(),
  restartPolicy: z.string(),
  policyExhausted: z.boolean(),
  startedAt: z.string().nullable(),
  uptimeSeconds: z.number().nullable(),
  oomKilled: z.boolean(),
  lastExit: z
    .object({
      code: z.number().nullable(),
      signal: z.string().nullable(),
      meaning: z.string(),
      oomKilled: z.boolean(),
      finishedAt: z.string().nullable(),
    })
    .nullable(),
  lastHealthOutput: z.string().nullable(),
  neverStarted: neverStartedOut,
  probe: probeOut,
  processOomKills: z
    .number()
    .describe('processes OOM-killed inside this container in the last 15 minutes while it kept running'),
  pids: z
    .object({ current: z.number(), limit: z.number(), zombies: z.number().nullable() })
    .nullable()
    .describe('PIDs in use against pids_limit (only when a limit is set)'),
  lastDeath: z
    .object({
      time: z.string(),
      cause: z.enum(['oom', 'operator', 'signal', 'app_error', 'clean_exit', 'unknown']),
      exitCode: z.number().nullable(),
      stopTimeoutSeconds: z.number().nullable(),
    })
    .nullable()
    .describe(
      "its latest death as the engine's (or recorder's) events tell it; null when they no longer hold it",
    ),
  cleanExits: z.number().describe('clean exits (code 0) in the recent events'),
});

const serviceOut = z.object({
  service: z.string(),
  expected: z.boolean().describe('listed in the configured expected services'),
  critical: z.boolean(),
  status,
  ok: z.boolean(),
  replicas: z.object({ running: z.number(), total: z.number() }),
  problems: z.array(z.string()),
  deepCheck: deepCheckResultSchema.nullable(),
  containers: z.array(containerOut),
  gpu: z
    .object({
      requests: z
        .array(
          z.object({
            driver: z.string(),
            count: z.number().describe('-1 = all GPUs'),
            deviceIds: z.array(z.string()),
            capabilities: z.array(z.string()),
          }),
        )
        .describe(
          "the container's device requests as the engine holds them (deploy.resources.reservations.devices, --gpus)",
        ),
      runtime: z.string().nullable().describe('its runtime when not the default (runtime: nvidia)'),
      visibleDevices: z.string().nullable().describe('NVIDIA_VISIBLE_DEVICES'),
      engineRuntimes: z
        .array(z.string())
        .nullable()
        .describe("the engine's runtimes (GET /info); null when it could not be asked"),
      nvidiaRuntime: z.boolean().nullable().describe('whether the engine has the nvidia runtime'),
      canServe: z
        .boolean()
        .nullable()
        .describe('whether the engine can give it the GPU it asks for; null when unknown'),
    })
    .nullable()
    .optional()
    .describe(
      'for a service whose containers ask for a GPU: what they ask and whether the engine can serve it',
    ),
  swarm: z
    .object({
      mode: z.enum(['replicated', 'global']),
      desired: z.number(),
      update: z.object({ state: z.string(), message: z.string() }).nullable(),
      tasks: z.array(swarmTaskOut),
    })
    .optional()
    .describe(
      "Swarm stacks only: the service's mode, desired replicas, last update and task history (newest first)",
    ),
});

export const stackHealth = defineTool({
  name: 'stack_health',
  title: 'Stack health',
  description:
    'Health of every expected service of the Compose stack: state, Docker health, restart count, uptime, ' +
    'OOMKilled, last exit code with its meaning, restart policy (and whether it is exhausted), configured deep ' +
    'checks, and one overall verdict (healthy | starting | degraded | down). Services that are expected but have ' +
    'no container are reported as missing; containers that never started say why (State.Error, the dependency ' +
    'they wait for); processes OOM-killed inside running containers (last 15 min), PIDs near pids_limit and health ' +
    'probes that cannot run are problems too, and running containers without a required variable (config ' +
    'requiredVariables; names only, the service is still judged by its state). Call this first when asked whether the stack is OK.',
  summary:
    "Call first when asked whether the stack is OK. Returns each expected service's state, health, " +
    'restarts and last exit, plus a verdict: healthy, starting, degraded or down.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    service: serviceName
      .optional()
      .describe('Only this service (default: all expected and running services)'),
    deep: z
      .boolean()
      .default(true)
      .describe('Run the deep checks configured for services (HTTP, exec, Ollama or MongoDB probes)'),
  }),
  output: z.object({
    project: z.string(),
    engine: z.string(),
    checkedAt: z.string(),
    verdict: z.enum(['healthy', 'starting', 'degraded', 'down']),
    summary: z.string(),
    services: z.array(serviceOut),
    backups: z
      .object({
        restore: z
          .string()
          .nullable()
          .describe(
            'A restore that was interrupted (the data it restored is incomplete) or is running; from the restore journal',
          ),
        lastGoodDrill: z
          .object({ at: z.string(), backup: z.string(), restorableAsOf: z.string() })
          .nullable()
          .describe('The last restore drill that succeeded (doom-ops drill)'),
        warnings: z.array(z.string()),
      })
      .describe('Backup state kept by doom-ops in its state dir (no repository access)'),
    swarm: z
      .object({
        nodes: z.array(
          z.object({
            hostname: z.string(),
            role: z.enum(['manager', 'worker']),
            state: z.string(),
            availability: z.string(),
            endpoint: z.boolean().describe('its own engine is configured in swarm.nodes'),
          }),
        ),
        problems: z.array(z.string()).describe('nodes down, drained or paused'),
        notes: z.array(z.string()).describe('what could not be checked, and where'),
      })
      .optional()
      .describe('Swarm stacks only: the nodes as the manager sees them'),
  }),
  async run(ctx, input) {
    const now = Date.now();
    if ((await stackKind(ctx)) === 'swarm') {
      const [h, backups] = await Promise.all([
        swarmStackHealth(ctx, input.service, input.deep, now),
        backupState(ctx, now),
      ]);
      return {
        project: ctx.project,
        engine: ctx.docker.engine,
        checkedAt: new Date(now).toISOString(),
        ...h,
        summary: `${h.summary}${backups.restore ? `; ${backups.restore}` : ''}`,
        backups,
      };
    }
    const replicas = await stackReplicas(ctx);
    const details = await ctx.docker.inspectMany(
      replicas.map((c) => c.id),
      ctx.signal,
    );
    const names = new Set(
      [...Object.keys(ctx.config.services), ...details.map((d) => d.service ?? '')].filter(Boolean),
    );
    if (input.service) for (const n of [...names]) if (n !== input.service) names.delete(n);

    // Deaths the container state alone would misread (exit 137 with OOMKilled) widen the event
    // window back to them, up to a day.
    const ambiguous = details
      .filter((d) => !d.state.running && d.state.exitCode === 137 && d.state.finishedAt)
      .map((d) => Date.parse(d.state.finishedAt!) - 60_000);
    const since = Math.max(now - HISTORY_MAX_MS, Math.min(now - PROCESS_OOM_WINDOW_MS, ...ambiguous));
    const [recent, pids, secrets] = await Promise.all([
      recentHistory(ctx, since, now - PROCESS_OOM_WINDOW_MS),
      Promise.all(details.map((d) => pidsUsage(ctx, d))),
      // Every secret of the project: a service's probe or deep check may print another's password.
      projectSecrets(ctx, details),
    ]);
    const nameOf = (id: string) => details.find((d) => d.id.startsWith(id) || id.startsWith(d.id))?.name;
    const judgedAlone = await Promise.all(
      details.map((d) =>
        refineStartFailure(
          ctx,
          d,
          containerHealth(d, ctx.config.services[d.service ?? '']?.startPeriod ?? 0, now, nameOf),
        ),
      ),
    );
    const ordered = [...names].sort(serviceOrder(Object.keys(ctx.config.services)));
    const judged = new Map(
      ordered.map((service) => {
        const expected = ctx.config.services[service];
        const mine = details.filter((d) => d.service === service).sort((a, b) => a.number - b.number);
        const containers: ContainerHealth[] = mine.map((d) => {
          const h = judgedAlone[details.indexOf(d)]!;
          const death = recent.lastDeath.get(d.id);
          // on-failure:N at its count, but a stop by hand ended the last run: the policy did not give up.
          const stoppedByHand =
            death?.cause === 'operator' &&
            d.state.finishedAt !== null &&
            Math.abs(Date.parse(death.time) - Date.parse(d.state.finishedAt)) < 5000;
          return {
            ...h,
            policyExhausted: h.policyExhausted && !stoppedByHand,
            lastHealthOutput: h.lastHealthOutput === null ? null : redact(h.lastHealthOutput, secrets),
            processOomKills: recent.processOomKills.get(d.id) ?? 0,
            pids: pids[details.indexOf(d)] ?? null,
            lastDeath: death
              ? {
                  time: death.time,
                  cause: death.cause,
                  exitCode: death.exitCode,
                  stopTimeoutSeconds: death.stopTimeout?.graceSeconds ?? null,
                }
              : null,
            cleanExits: recent.cleanExits.get(d.id) ?? 0,
          };
        });
        return [service, { expected, mine, containers }] as const;
      }),
    );
    // A container Compose created but never started waits for a dependency; name the unmet ones.
    const blockedBy = (service: string): string[] =>
      judged.get(service)!.containers.some((c) => c.neverStarted?.kind === 'not_started')
        ? unmetDependencies(service, details, (s) => ctx.config.services[s], now)
        : [];
    const services = await Promise.all(
      ordered.map(async (service) => {
        const { expected, mine, containers } = judged.get(service)!;
        const summary = serviceHealth(expected, containers, { service, blockedBy: blockedBy(service) });
        summary.problems = summary.problems.map((p) => redact(p, secrets));
        // The handbook's required variables: a running container without one (names only).
        const required = ctx.config.requiredVariables[service] ?? [];
        for (const d of mine.filter((x) => x.state.running)) {
          const lacking = required.filter((n) => !d.envNames.includes(n) || d.emptyEnv.includes(n));
          if (lacking.length)
            summary.problems.push(
              `${d.name} runs without ${lacking.join(', ')} (required variables, config requiredVariables: missing or empty)`,
            );
        }
        let deepCheck = null;
        if (input.deep && expected?.deepCheck && mine.length > 0) {
          const target = mine.find((d) => d.state.running);
          deepCheck = await runDeepCheck(ctx, expected.deepCheck, target?.id, secrets);
          if (!deepCheck.ok) summary.problems.push(`deep check failed: ${deepCheck.detail}`);
        }
        const gpu = await gpuView(ctx, service, mine, summary.problems);
        const ok = summary.ok && (deepCheck?.ok ?? true);
        return {
          ...(gpu ? { gpu } : {}),
          service,
          expected: Boolean(expected),
          critical: expected?.critical ?? false,
          status: statusWithDeepCheck(summary.status, deepCheck?.ok),
          ok,
          replicas: { running: summary.running, total: containers.length },
          problems: summary.problems,
          deepCheck,
          containers,
        };
      }),
    );

    const verdict = overallVerdict(services);
    const bad = services.filter((s) => !s.ok);
    const backups = await backupState(ctx, now);
    const summary = `${
      bad.length === 0
        ? `${services.length} services OK`
        : `${verdict}: ${bad.map((s) => `${s.service} ${s.status}`).join(', ')} (${services.length - bad.length}/${services.length} OK)`
    }${backups.restore ? `; ${backups.restore}` : ''}`;
    return {
      project: ctx.project,
      engine: ctx.docker.engine,
      checkedAt: new Date(now).toISOString(),
      verdict,
      summary,
      services,
      backups,
    };
  },
});

/** The restore journal and the drill record of the stack (local files only: health stays fast). */
async function backupState(ctx: ToolContext, now: number) {
  const [journal, drills, stopped] = await Promise.all([
    readJournal(ctx.config, ctx.project),
    drillRecord(ctx),
    readStoppedForBackup(ctx.config, ctx.project),
  ]);
  const restore = journal
    ? journal.interrupted
      ? describeInterrupted(journal)
      : `restore of ${journal.component} from backup ${journal.id} in progress (${journal.step}, pid ${journal.pid})`
    : null;
  const warning = drillWarning(drills, ctx.config.backup.drillMaxAge, now);
  return {
    restore,
    lastGoodDrill: drills.lastGood
      ? {
          at: drills.lastGood.at,
          backup: drills.lastGood.backup,
          restorableAsOf: drills.lastGood.backupCreated,
        }
      : null,
    warnings: [
      ...(journal?.interrupted ? [restore!] : []),
      ...leftStopped(stopped).map(
        (s) =>
          `${s.name} was stopped at ${s.at} by a backup that was killed before starting it again: the next backup starts it (or docker start ${s.name})`,
      ),
      ...(warning ? [warning] : []),
    ],
  };
}

/** Configured services in config order (the handbook's startup order), then the rest by name. */
function serviceOrder(configured: string[]): (a: string, b: string) => number {
  const rank = (s: string): number => {
    const i = configured.indexOf(s);
    return i === -1 ? configured.length : i;
  };
  return (a, b) => rank(a) - rank(b) || a.localeCompare(b);
}

/**
 * For a service whose containers ask for a GPU (device requests, runtime nvidia): what they ask
 * and whether this engine can serve it (the nvidia runtime among its runtimes, GET /info). When it
 * cannot, a problem says so with the reason. Null for a service that asks for none.
 */
async function gpuView(ctx: ToolContext, service: string, mine: ContainerDetail[], problems: string[]) {
  const ask = mine.find((d) => d.gpu)?.gpu;
  if (!ask) return null;
  const engineRuntimes = await ctx.docker.runtimes(ctx.signal).catch(() => null);
  const nvidiaRuntime = engineRuntimes ? engineRuntimes.includes('nvidia') : null;
  // Docker's GPU requests (capability gpu, driver nvidia or unset) are served by the NVIDIA toolkit.
  const wantsNvidia =
    ask.runtime === 'nvidia' ||
    ask.requests.some((r) => r.driver === 'nvidia' || r.capabilities.includes('gpu'));
  const canServe = !wantsNvidia ? null : nvidiaRuntime;
  if (canServe === false) {
    const what = [
      ...ask.requests.map(
        (r) =>
          `driver ${r.driver || '(default)'}, ${r.deviceIds.length ? `device ${r.deviceIds.join(',')}` : r.count === -1 ? 'all GPUs' : `count ${r.count}`}, capabilities ${r.capabilities.join(',') || '-'}`,
      ),
      ...(ask.runtime ? [`runtime ${ask.runtime}`] : []),
      ...(ask.visibleDevices !== null ? [`NVIDIA_VISIBLE_DEVICES=${ask.visibleDevices}`] : []),
    ].join('; ');
    const down = mine.filter((d) => !d.state.running);
    problems.push(
      `${service} asks for a GPU (${what}), but the engine has no nvidia runtime (its runtimes: ${engineRuntimes!.join(', ') || 'none'})${down.length ? `: ${down.map((d) => d.name).join(', ')} cannot start` : ''}; install the NVIDIA Container Toolkit (nvidia-ctk runtime configure --runtime=docker) or run without the GPU overlay`,
    );
  }
  return { ...ask, engineRuntimes, nvidiaRuntime, canServe };
}
