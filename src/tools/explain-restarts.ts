import { z } from 'zod';
import { ToolError } from '../errors.js';
import { classifyDeaths, deathFromState, verdictKind } from '../knowledge/restart-analysis.js';
import { RECORDED_ACTIONS } from '../recorder/recorder.js';
import { createRedactor } from '../safety/redact.js';
import { formatBytes } from '../util/duration.js';
import { defineTool } from './define-tool.js';
import { gatherEvidence } from './lib/evidence.js';
import { serviceField, windowSinceField } from './lib/fields.js';
import { containerHealth } from './lib/service-status.js';

const VERDICTS = [
  'oom_killed',
  'app_error',
  'operator_restart',
  'killed_by_signal',
  'unhealthy',
  'clean_exit',
  'no_restarts',
] as const;
/** The lifecycle events the recorder keeps are exactly the ones a restart explanation reads. */
const EVENT_ACTIONS = RECORDED_ACTIONS;
/** Log lines quoted before each death, and how many deaths get them. */
const LINES_BEFORE = 5;
const DEATHS_WITH_LOGS = 3;

export const explainRestarts = defineTool({
  name: 'explain_restarts',
  title: 'Why did a service restart?',
  description:
    'Answers "why did X restart / die?" from Docker\'s own evidence: inspect state (RestartCount, OOMKilled, exit code, ' +
    'health log), the restart policy and whether it is exhausted, the memory limit, engine events in a window (oom, ' +
    'kill, die, stop, restart, health_status) and the log lines just before each death. Returns a timeline and a ' +
    'verdict (oom_killed, app_error, operator_restart, killed_by_signal, unhealthy, clean_exit, no_restarts) with its ' +
    'evidence and next steps. The engine keeps only its last 256 events in memory; when the event recorder runs (doom-ops serve, doom-ops record) its history fills the timeline, otherwise older deaths may be missing. Inspect state (RestartCount, OOMKilled) is always complete.',
  risk: 'read',
  idempotent: true,
  input: z.object({
    service: serviceField,
    since: windowSinceField,
  }),
  output: z.object({
    project: z.string(),
    service: z.string(),
    window: z.object({
      since: z.string(),
      until: z.string(),
      fromRecorder: z
        .number()
        .describe("events only the event recorder still had (the engine's memory had dropped them)"),
    }),
    containers: z.array(
      z.object({
        name: z.string(),
        state: z.string(),
        health: z.string().nullable(),
        restartCount: z.number(),
        restartPolicy: z.string(),
        policyExhausted: z.boolean(),
        oomKilled: z.boolean(),
        exitCode: z.number(),
        memoryLimitBytes: z.number().nullable(),
        lastHealthOutput: z.string().nullable(),
      }),
    ),
    timeline: z.array(
      z.object({ time: z.string(), container: z.string(), action: z.string(), detail: z.string() }),
    ),
    deaths: z.array(
      z.object({
        time: z.string(),
        container: z.string(),
        exitCode: z.number().nullable(),
        meaning: z.string(),
        cause: z.enum(['oom', 'operator', 'signal', 'app_error', 'clean_exit']),
        signal: z.string().nullable(),
        logBefore: z.array(z.string()),
      }),
    ),
    verdict: z.object({
      kind: z.enum(VERDICTS),
      policyExhausted: z.boolean(),
      serviceDown: z.boolean(),
      summary: z.string(),
      evidence: z.array(z.string()),
      nextSteps: z.array(z.string()),
    }),
  }),
  async run(ctx, input) {
    const { now, since, until, details, events, recorded } = await gatherEvidence(ctx, {
      service: input.service,
      since: input.since,
      actions: EVENT_ACTIONS,
      max: 2000,
    });
    if (details.length === 0 && events.length === 0) {
      throw new ToolError(
        'not_found',
        `no container and no engine events for service "${input.service}" in project "${ctx.project}" since ${new Date(since * 1000).toISOString()}`,
        {
          hint: 'check the service name (stack_health lists them) or widen the window with since',
        },
      );
    }
    const redact = createRedactor(details.flatMap((d) => d.secretValues));
    const containers = details.map((d) => {
      const h = containerHealth(d, ctx.config.services[input.service]?.startPeriod ?? 0, now);
      return {
        name: d.name,
        state: d.state.status,
        health: d.health?.status ?? null,
        restartCount: d.restartCount,
        restartPolicy: h.restartPolicy,
        policyExhausted: h.policyExhausted,
        oomKilled: d.state.oomKilled,
        exitCode: d.state.exitCode,
        memoryLimitBytes: d.memoryLimitBytes,
        lastHealthOutput: h.lastHealthOutput === null ? null : redact(h.lastHealthOutput),
      };
    });

    const deaths = classifyDeaths(events);
    // The engine keeps 256 events; when the deaths fell out of it, each container's own state still
    // records its last one.
    for (const d of details) {
      const fromState = deathFromState(d, deaths, since * 1000);
      if (fromState) deaths.push(fromState);
    }
    deaths.sort((a, b) => a.time.localeCompare(b.time));
    const idByName = new Map([
      ...events.map((e) => [e.name ?? '', e.id] as const),
      ...details.map((d) => [d.name, d.id] as const),
    ]);
    const withLogs = await Promise.all(
      deaths.map(async (d, i) => {
        const id = idByName.get(d.container);
        const logBefore: string[] = [];
        if (id && i >= deaths.length - DEATHS_WITH_LOGS && details.some((c) => c.id === id)) {
          // Lines up to the death; the engine filters by timestamp, so earlier runs' lines are excluded.
          for await (const l of ctx.docker.logLines(id, {
            until: Math.floor(Date.parse(d.time) / 1000) + 1,
            since: Math.floor(Date.parse(d.time) / 1000) - 120,
            signal: ctx.signal,
          })) {
            logBefore.push(redact(l.text));
            if (logBefore.length > 200) logBefore.shift();
          }
        }
        return { ...d, logBefore: logBefore.slice(-LINES_BEFORE) };
      }),
    );

    const unhealthy = containers.some((c) => c.health === 'unhealthy');
    const kind = verdictKind(deaths, unhealthy);
    const policyExhausted = containers.some((c) => c.policyExhausted);
    const serviceDown =
      containers.length === 0 || containers.every((c) => c.state !== 'running' && c.state !== 'restarting');
    const verdict = describe(input.service, kind, withLogs, containers, policyExhausted, serviceDown);
    return {
      project: ctx.project,
      service: input.service,
      window: {
        since: new Date(since * 1000).toISOString(),
        until: new Date(until * 1000).toISOString(),
        fromRecorder: recorded,
      },
      containers,
      timeline: events.map((e) => ({
        time: e.time,
        container: e.name ?? e.id.slice(0, 12),
        action: e.action,
        detail:
          e.attributes.exitCode !== undefined
            ? `exit ${e.attributes.exitCode}`
            : e.attributes.signal !== undefined
              ? `signal ${e.attributes.signal}`
              : '',
      })),
      deaths: withLogs,
      verdict: { kind, policyExhausted, serviceDown, ...verdict },
    };
  },
});

type Containers = Array<{
  name: string;
  restartCount: number;
  restartPolicy: string;
  oomKilled: boolean;
  memoryLimitBytes: number | null;
  lastHealthOutput: string | null;
  exitCode: number;
}>;
type Deaths = Array<{
  time: string;
  container: string;
  exitCode: number | null;
  meaning: string;
  cause: string;
  signal: string | null;
  logBefore: string[];
}>;

function describe(
  service: string,
  kind: (typeof VERDICTS)[number],
  deaths: Deaths,
  containers: Containers,
  exhausted: boolean,
  down: boolean,
): { summary: string; evidence: string[]; nextSteps: string[] } {
  const evidence: string[] = containers.map(
    (c) =>
      `${c.name}: RestartCount=${c.restartCount}, OOMKilled=${c.oomKilled}, ExitCode=${c.exitCode}, policy ${c.restartPolicy}, memory limit ${c.memoryLimitBytes ? formatBytes(c.memoryLimitBytes) : 'none'} (docker inspect)`,
  );
  const count = (cause: string) => deaths.filter((d) => d.cause === cause).length;
  const last =
    [...deaths].reverse().find((d) => d.cause !== 'operator' && d.cause !== 'clean_exit') ?? deaths.at(-1);
  if (last)
    evidence.push(
      `last death ${last.time}: exit ${last.exitCode ?? '?'} (${last.meaning})${last.signal ? ` after ${last.signal} from the API` : ''}`,
    );
  const tail = exhausted
    ? ` Its restart policy is exhausted, so the engine will not start it again: ${service} is down.`
    : down
      ? ` ${service} is not running.`
      : '';
  const limit = containers.find((c) => c.memoryLimitBytes)?.memoryLimitBytes;
  switch (kind) {
    case 'oom_killed':
      evidence.push(`${count('oom')} OOM kill(s) in the window (engine oom events, exit 137)`);
      return {
        summary: `${service} was killed by the kernel OOM killer at its memory limit${limit ? ` of ${formatBytes(limit)}` : ''} (${count('oom')} time(s)).${tail}`,
        evidence,
        nextSteps: [
          `raise deploy.resources.limits.memory for ${service} in docker-compose.prod.yml (diagnose_oom suggests a value), then recreate it`,
          'a plain restart_service will OOM again at the same limit',
          ...(service === 'opensearch'
            ? ['keep the JVM heap at half the limit (ES_JAVA_OPTS=-Xms… -Xmx…)']
            : []),
        ],
      };
    case 'app_error': {
      const errLine =
        [...(last?.logBefore ?? [])].reverse().find((l) => /error|fatal|panic|exception/i.test(l)) ??
        last?.logBefore.at(-1);
      if (errLine) evidence.push(`last log line before it: ${errLine}`);
      return {
        summary: `${service} exited on its own with code ${last?.exitCode ?? '?'} (${count('app_error')} time(s))${errLine ? `; last error: ${errLine}` : ''}.${tail}`,
        evidence,
        nextSteps: [
          `fix what the log lines say (service_logs ${service} --level error for more)`,
          `then restart_service ${service}${exhausted ? ' (the policy is exhausted, so it will not come back by itself)' : ''}`,
        ],
      };
    }
    case 'killed_by_signal':
      return {
        summary: `${service} was killed by ${last?.signal ?? 'a signal'} sent through the Docker API (docker kill or similar), not by a failure of its own.${tail}`,
        evidence,
        nextSteps: [
          'check the audit log and who has access to the Docker socket',
          `start it again with restart_service ${service} if it should run`,
        ],
      };
    case 'unhealthy': {
      const out = containers.find((c) => c.lastHealthOutput)?.lastHealthOutput;
      if (out) evidence.push(`health check output: ${out}`);
      return {
        summary: `${service} has not restarted, but its health check is failing${out ? `: ${out}` : ''}.`,
        evidence,
        nextSteps: [
          `run the unhealthy-service checks: service_logs ${service} --level warn, service_stats ${service}`,
          'Docker does not restart unhealthy containers by itself',
        ],
      };
    }
    case 'operator_restart':
      evidence.push(
        `${count('operator')} stop/restart(s) requested through the Docker API (kill + stop/restart events)`,
      );
      return {
        summary: `${service} was restarted or stopped on purpose (docker restart / compose / an API call): no failure.`,
        evidence,
        nextSteps: ['nothing to fix; the audit log (doom-ops audit) shows restarts made through doom-ops'],
      };
    case 'clean_exit':
      return {
        summary: `${service} exited normally (code 0).${tail}`,
        evidence,
        nextSteps: [
          `if it should keep running, check its command and restart policy (${containers[0]?.restartPolicy ?? 'no'})`,
        ],
      };
    default:
      return {
        summary: `${service} has not died or restarted in the window (RestartCount ${containers.map((c) => c.restartCount).join('/')}).`,
        evidence,
        nextSteps: ['widen the window with since, or check stack_health'],
      };
  }
}
