import { z } from 'zod';
import type { ContainerDetail } from '../../adapters/docker/types.js';
import { ToolError } from '../../errors.js';
import {
  type Death,
  deathFromState,
  minimumDeaths,
  readHistory,
  type VerdictKind,
  verdictKind,
} from '../../knowledge/restart-analysis.js';
import { RECORDED_ACTIONS } from '../../recorder/recorder.js';
import type { Redactor } from '../../safety/redact.js';
import { formatBytes } from '../../util/duration.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { forEachLogLine, logsUnavailableReason } from '../lib/container-logs.js';
import { unmetDependencies } from '../lib/dependencies.js';
import { neverStartedOut, probeOut, swarmTaskOut } from '../lib/diagnosis-schema.js';
import { gatherEvidence } from '../lib/evidence.js';
import { serviceField, windowSinceField } from '../lib/fields.js';
import { projectRedactor } from '../lib/secrets.js';
import { type ContainerHealth, containerHealth } from '../lib/service-status.js';
import { stackReplicas } from '../lib/stack.js';
import { stackKind } from '../lib/stack-kind.js';
import { refineStartFailure } from '../lib/start-failure.js';
import { swarmExplainRestarts } from '../lib/swarm-why.js';

const VERDICTS = [
  'paused',
  'removed',
  'never_started',
  'oom_killed',
  'app_error',
  'operator_restart',
  'killed_by_signal',
  'clean_exit_loop',
  'unexplained_restarts',
  'broken_probe',
  'unhealthy',
  'clean_exit',
  'no_restarts',
] as const satisfies readonly VerdictKind[];
/** The lifecycle events the recorder keeps are exactly the ones a restart explanation reads. */
const EVENT_ACTIONS = RECORDED_ACTIONS;
/** Log lines quoted before each death, and how many deaths get them. */
const LINES_BEFORE = 5;
const DEATHS_WITH_LOGS = 3;
/** Without the start of the run, lines this far before a death are read. */
const LOOKBACK_S = 120;
const ERROR_LINE = /error|fatal|panic|exception|denied|failed|cannot|can't|read-only file system/i;

export const explainRestarts = defineTool({
  name: 'explain_restarts',
  title: 'Why did a service restart?',
  description:
    'Answers "why did X restart / die / not start?" from Docker\'s own evidence: inspect state (RestartCount, ' +
    'OOMKilled, exit code, State.Error, health log), the restart policy and whether it is exhausted, engine events in ' +
    'a window read in order (oom, kill, die, stop, restart: an operator stop is kill → die → stop even when a child ' +
    'was OOM-killed meanwhile), and the log lines before each death. Verdicts: never_started, oom_killed, app_error, ' +
    'operator_restart (also unclean stops: SIGKILL after the stop timeout), killed_by_signal, clean_exit_loop, ' +
    'unexplained_restarts, broken_probe, unhealthy, clean_exit, no_restarts. The engine keeps only its last 256 events; ' +
    "the event recorder (doom-ops serve / record) keeps the rest. When the containers' own state shows more than the " +
    'events, the answer says so (missingEvidence, "at least N") instead of claiming nothing happened.',
  summary:
    'Explain why a service restarted, died or never started. Returns a verdict such as oom_killed or ' +
    'app_error with evidence from Docker state, events and last log lines.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
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
        neverStarted: neverStartedOut,
        probe: probeOut,
        minimumDeaths: z
          .number()
          .describe(
            'deaths its own state proves since it was last started through the API (RestartCount, +1 if down)',
          ),
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
        cause: z.enum(['oom', 'operator', 'signal', 'app_error', 'clean_exit', 'unknown']),
        signal: z.string().nullable(),
        viaApi: z
          .boolean()
          .describe('the signal came through the Docker API (a kill event), not from the host or inside'),
        runStartedAt: z.string().nullable(),
        source: z
          .enum(['events', 'state'])
          .describe('events, or only the container state (the events are gone)'),
        stopTimeout: z
          .object({ graceSeconds: z.number(), stopSignal: z.string() })
          .nullable()
          .describe(
            'operator stops that ended in SIGKILL because PID 1 did not exit within the stop timeout',
          ),
        processOomKills: z.number().describe('processes OOM-killed inside during that run'),
        note: z.string().nullable(),
        logBefore: z.array(z.string()),
      }),
    ),
    previousContainers: z
      .array(
        z.object({
          time: z.string(),
          container: z.string(),
          exitCode: z.number().nullable(),
          cause: z.enum(['oom', 'operator', 'signal', 'app_error', 'clean_exit', 'unknown']),
        }),
      )
      .describe('deaths in the window of containers of the service that no longer exist (recreated since)'),
    processOomKills: z
      .number()
      .describe('processes OOM-killed inside its containers in the window while the container survived'),
    logsUnavailable: z.string().nullable().describe('why its logs cannot be read back, when they cannot'),
    evidenceComplete: z.boolean(),
    missingEvidence: z.array(z.string()).describe('what the containers show that the kept events do not'),
    verdict: z.object({
      kind: z.enum(VERDICTS),
      policyExhausted: z.boolean(),
      serviceDown: z.boolean(),
      summary: z.string(),
      evidence: z.array(z.string()),
      nextSteps: z.array(z.string()),
    }),
    tasks: z
      .array(swarmTaskOut)
      .optional()
      .describe(
        "Swarm stacks only: the service's task history in the window (newest first); each task is one start",
      ),
  }),
  async run(ctx, input) {
    if ((await stackKind(ctx)) === 'swarm') return swarmExplainRestarts(ctx, input.service, input.since);
    const { now, since, until, details, events, recorded, recorderRan } = await gatherEvidence(ctx, {
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
    const redact = await projectRedactor(ctx, details);
    const startPeriod = ctx.config.services[input.service]?.startPeriod ?? 0;
    const stack = await stackReplicas(ctx);
    const nameOf = (id: string) => stack.find((c) => c.id.startsWith(id) || id.startsWith(c.id))?.name;
    const health = await Promise.all(
      details.map(async (d) => refineStartFailure(ctx, d, containerHealth(d, startPeriod, now, nameOf))),
    );
    const containers = details.map((d, i) => {
      const h = health[i]!;
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
        neverStarted: h.neverStarted && {
          ...h.neverStarted,
          what: redact(h.neverStarted.what),
          error: h.neverStarted.error && redact(h.neverStarted.error),
        },
        probe: h.probe,
        minimumDeaths: minimumDeaths(d),
      };
    });

    const history = readHistory(events);
    // Deaths of containers that no longer exist (the service was recreated since) are history of a
    // previous container, with its own configuration: they do not explain the current one.
    const currentIds = new Set(details.map((d) => d.id));
    const previous = history.deaths.filter((d) => !currentIds.has(d.id));
    const deaths: Death[] = history.deaths.filter((d) => currentIds.has(d.id));
    const processOomKills = history.processOomKills.filter((k) => currentIds.has(k.id));
    // The engine keeps 256 events; when the deaths fell out of it, each container's own state still
    // records its last one.
    for (const d of details) {
      const fromState = deathFromState(d, deaths, since * 1000);
      if (fromState) deaths.push(fromState);
    }
    deaths.sort((a, b) => a.time.localeCompare(b.time));
    const missing = missingEvidence(details, deaths, processOomKills.length, recorderRan, since * 1000);

    const { withLogs, logsUnavailable } = await logsBeforeDeaths(ctx, deaths, details, redact);
    // Never started, or its latest start failed and nothing of it runs now.
    const neverStarted =
      containers.length > 0 &&
      containers.every((c) => c.neverStarted !== null) &&
      (deaths.length === 0 || containers.some((c) => c.neverStarted?.ranBefore));
    const blockedBy =
      neverStarted && containers.some((c) => c.neverStarted?.kind === 'not_started')
        ? unmetDependencies(
            input.service,
            await ctx.docker.inspectMany(
              stack.map((c) => c.id),
              ctx.signal,
            ),
            (s) => ctx.config.services[s],
            now,
          )
        : [];
    const restartsEveryExit = details.some(
      (d) => d.restartPolicy.name === 'always' || d.restartPolicy.name === 'unless-stopped',
    );
    const kind = verdictKind(neverStarted ? [] : deaths, {
      restartsEveryExit,
      unhealthy: containers.some((c) => c.health === 'unhealthy'),
      brokenProbe: health.some((h) => h.status === 'unhealthy' && h.probe?.failure === 'broken'),
      neverStarted,
      removed: details.length === 0,
      paused: details.some((d) => d.state.paused),
      // Restarting now after exit 0: the engine is looping it (an exited one was stopped by hand).
      cleanLoopState: details.some(
        (d, i) =>
          d.state.restarting &&
          d.state.exitCode === 0 &&
          d.restartCount >= 2 &&
          (d.restartPolicy.name === 'always' || d.restartPolicy.name === 'unless-stopped') &&
          !health[i]!.neverStarted,
      ),
    });
    // on-failure:N at its count and exited: exhausted, unless what ended it was a stop by hand.
    const lastDeathOf = (id: string) => deaths.filter((x) => x.id === id).at(-1);
    for (const [i, c] of containers.entries())
      if (c.policyExhausted && lastDeathOf(details[i]!.id)?.cause === 'operator') c.policyExhausted = false;
    const policyExhausted = containers.some((c) => c.policyExhausted);
    const serviceDown =
      containers.length === 0 || containers.every((c) => c.state !== 'running' && c.state !== 'restarting');
    const verdict = describe({
      service: input.service,
      kind,
      deaths: withLogs,
      containers,
      details,
      health,
      exhausted: policyExhausted,
      down: serviceDown,
      processOomKills: processOomKills.length,
      blockedBy,
      missing,
      recorderRan,
      logsUnavailable,
      previous,
      idleStops: history.idleStops.filter((x) => currentIds.has(x.id)),
      removedAt: events.filter((e) => e.action === 'destroy').at(-1)?.time ?? null,
      unhealthyNow: health.some((h) => h.status === 'unhealthy')
        ? (health.find((h) => h.status === 'unhealthy')?.lastHealthOutput ?? 'no output')
        : null,
    });
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
      previousContainers: previous.map((d) => ({
        time: d.time,
        container: d.container,
        exitCode: d.exitCode,
        cause: d.cause,
      })),
      processOomKills: processOomKills.length,
      logsUnavailable,
      evidenceComplete: missing.length === 0,
      missingEvidence: missing,
      verdict: { kind, policyExhausted, serviceDown, ...verdict },
    };
  },
});

/** What the containers' own state proves that the kept events do not show. */
function missingEvidence(
  details: ContainerDetail[],
  deaths: Death[],
  processOomKills: number,
  recorderRan: boolean,
  sinceMs: number,
): string[] {
  const out: string[] = [];
  for (const d of details) {
    const seen = deaths.filter((x) => x.id === d.id && x.source === 'events').length;
    const min = minimumDeaths(d);
    // RestartCount counts from the last start by hand, which may be before the window: only a
    // container created inside the window proves deaths the window should have shown.
    const inWindow = Date.parse(d.createdAt) >= sinceMs;
    if (min > seen && !inWindow) continue;
    if (min > seen)
      out.push(
        `${d.name}: RestartCount=${d.restartCount}${min > d.restartCount ? ' and down now' : ''} means at least ${min} death(s) since it was last started by hand; the events of ${min - seen} of them are no longer kept`,
      );
    const fromState = deaths.find((x) => x.id === d.id && x.source === 'state');
    if (fromState?.note && !out.some((o) => o.startsWith(`${d.name}: RestartCount`)))
      out.push(`${d.name}: ${fromState.note}`);
    else if (fromState && min <= seen)
      out.push(
        `${d.name}: its last death (${fromState.time}) is known only from its state: the event is no longer kept`,
      );
    const oomSeen = deaths.some((x) => x.id === d.id && x.cause === 'oom' && x.source === 'events');
    if (d.state.oomKilled && !oomSeen && processOomKills === 0 && !fromState)
      out.push(
        `${d.name}: OOMKilled=true but no oom event is kept for it (the engine no longer keeps the events)`,
      );
  }
  if (out.length)
    out.push(
      recorderRan
        ? "the event recorder's history does not reach back that far either (it keeps what happened while it ran)"
        : 'the engine keeps only its last 256 events: run the event recorder (doom-ops serve, or doom-ops record) so the history is kept',
    );
  return out;
}

/** The last lines each of the latest deaths logged, read from the start of that run (or a short window). */
async function logsBeforeDeaths(
  ctx: ToolContext,
  deaths: Death[],
  details: ContainerDetail[],
  redact: Redactor,
): Promise<{ withLogs: Array<Death & { logBefore: string[] }>; logsUnavailable: string | null }> {
  const reasons = new Set<string>();
  const withLogs = await Promise.all(
    deaths.map(async (death, i) => {
      const d = details.find((c) => c.id === death.id);
      const logBefore: string[] = [];
      if (d && i >= deaths.length - DEATHS_WITH_LOGS) {
        const at = Math.floor(Date.parse(death.time) / 1000);
        const from = death.runStartedAt ? Math.floor(Date.parse(death.runStartedAt) / 1000) : at - LOOKBACK_S;
        // The engine filters by timestamp, so lines of earlier runs are excluded when the run start is known.
        const deathMs = Date.parse(death.time);
        const reason = await forEachLogLine(ctx, d, { since: from, until: at + 1 }, (l) => {
          // The engine filters by whole seconds: drop what the next run logged in the same second.
          if (l.time && Date.parse(l.time) > deathMs) return;
          logBefore.push(redact(l.text));
          if (logBefore.length > LINES_BEFORE) logBefore.shift();
        });
        if (reason) reasons.add(reason);
      }
      return { ...death, logBefore };
    }),
  );
  // A container that never died may still have unreadable logs: say so once for the service.
  for (const d of details) {
    const reason = logsUnavailableReason(d);
    if (reason) reasons.add(reason);
  }
  return { withLogs, logsUnavailable: reasons.size ? [...reasons].join('; ') : null };
}

type Containers = Array<{
  name: string;
  policyExhausted: boolean;
  restartCount: number;
  restartPolicy: string;
  oomKilled: boolean;
  memoryLimitBytes: number | null;
  lastHealthOutput: string | null;
  exitCode: number;
  neverStarted: z.output<typeof neverStartedOut>;
  minimumDeaths: number;
}>;

interface DescribeInput {
  service: string;
  kind: VerdictKind;
  deaths: Array<Death & { logBefore: string[] }>;
  containers: Containers;
  details: ContainerDetail[];
  health: ContainerHealth[];
  exhausted: boolean;
  down: boolean;
  processOomKills: number;
  blockedBy: string[];
  missing: string[];
  recorderRan: boolean;
  logsUnavailable: string | null;
  previous: Death[];
  idleStops: Array<{ time: string; container: string }>;
  removedAt: string | null;
  /** The failing health check's output, when a container is unhealthy now. */
  unhealthyNow: string | null;
}

const SIGTERM_FIXES = [
  'make PID 1 handle SIGTERM: use the exec form of command/entrypoint (["app", "--flag"], not a shell string) so the app itself is PID 1, or `exec app` at the end of an entrypoint script',
  "in a shell entrypoint, trap TERM and forward it to the child (trap 'kill -TERM $child' TERM)",
  'or set init: true on the service: an init (tini) forwards signals to the app and reaps zombies',
  'give it time to finish in-flight work with stop_grace_period (Compose) if it needs more than the stop timeout',
];

function describe(x: DescribeInput): { summary: string; evidence: string[]; nextSteps: string[] } {
  const { service, kind, deaths, containers } = x;
  const evidence: string[] = containers.map(
    (c) =>
      `${c.name}: RestartCount=${c.restartCount}, OOMKilled=${c.oomKilled}, ExitCode=${c.exitCode}, policy ${c.restartPolicy}, memory limit ${c.memoryLimitBytes ? formatBytes(c.memoryLimitBytes) : 'none'} (docker inspect)`,
  );
  const count = (cause: string) => deaths.filter((d) => d.cause === cause).length;
  const last = deaths.at(-1);
  if (last)
    evidence.push(
      `last death ${last.time}: exit ${last.exitCode ?? '?'} (${last.meaning})${last.signal && last.viaApi ? ` after ${last.signal} from the API` : ''}${last.source === 'state' ? ' [from the container state]' : ''}`,
    );
  for (const d of deaths.filter((d) => d.note)) evidence.push(`${d.container} at ${d.time}: ${d.note}`);
  if (x.processOomKills)
    evidence.push(
      `${x.processOomKills} process(es) OOM-killed inside (engine oom events that did not kill its main process)`,
    );
  if (x.logsUnavailable) evidence.push(`logs unavailable: ${x.logsUnavailable}`);
  evidence.push(...x.missing.map((m) => `missing evidence: ${m}`));
  const minTotal = containers.reduce((n, c) => n + c.minimumDeaths, 0);
  const incomplete = x.missing.length > 0;
  const times = (n: number) =>
    incomplete && minTotal > deaths.length
      ? `${n} time(s) in the kept events; at least ${minTotal} deaths in all`
      : `${n} time(s)`;
  const exhaustedNames = containers.filter((c) => c.policyExhausted).map((c) => c.name);
  const tail =
    exhaustedNames.length && x.down
      ? ` Its restart policy is exhausted, so the engine will not start it again: ${service} is down.`
      : exhaustedNames.length
        ? ` ${exhaustedNames.join(', ')} used up its restart policy and stays down; ${x.health.filter((h) => h.state === 'running').length} of ${containers.length} replica(s) run.`
        : x.down
          ? ` ${service} is not running.`
          : '';
  // Earlier failures of other kinds than the latest death (an OOM kill among app errors).
  const others = deaths.filter(
    (d) => d !== last && d.cause !== last?.cause && d.cause !== 'clean_exit' && d.cause !== 'operator',
  );
  const also = others.length ? ` Also in the window: ${summarizeCauses(others)}.` : '';
  const unhealthyNow =
    x.unhealthyNow !== null && kind !== 'unhealthy' && kind !== 'broken_probe'
      ? ` Its health check is failing now: ${x.unhealthyNow}.`
      : '';
  const inside = x.processOomKills
    ? ` ${x.processOomKills} process(es) inside it were OOM-killed in the window${x.down ? '' : ' while the container kept running'} (a worker or child went past the memory limit: oom ${service}).`
    : '';
  const logNote = x.logsUnavailable
    ? ` (logs unavailable: ${x.logsUnavailable}; answered from the engine's records.)`
    : '';
  const honesty = incomplete
    ? ` Evidence is incomplete: ${x.missing[0]}${x.recorderRan ? '' : '; run the event recorder (doom-ops serve or doom-ops record) to keep it'}.`
    : '';
  const recorderStep =
    incomplete && !x.recorderRan
      ? [
          'keep the history next time: run the event recorder (doom-ops serve, or doom-ops record) for this project',
        ]
      : [];
  const limit = containers.find((c) => c.memoryLimitBytes)?.memoryLimitBytes;
  // No death in the window, but its state may show earlier ones: never claim it has not restarted.
  const earlier = containers.filter((c) => c.restartCount > 0);
  const noDeathYet = earlier.length
    ? `${service} did not die or restart in the window, but its state shows earlier restarts (RestartCount ${earlier.map((c) => c.restartCount).join('/')}): widen the window with since to see them`
    : `${service} has not died or restarted in the window (RestartCount ${containers.map((c) => c.restartCount).join('/')})`;
  // It ran before, and its latest start failed (a port taken meanwhile, a mount gone): say so too.
  const startFailed = kind === 'never_started' ? undefined : containers.find((c) => c.neverStarted);
  const again = startFailed?.neverStarted
    ? ` ${startFailed.name} ${startFailed.neverStarted.ranBefore ? 'could not be started again' : 'never started'}: ${startFailed.neverStarted.what}.`
    : '';
  const prev = !x.previous.length
    ? ''
    : containers.length === 0
      ? ` Before it was removed, its container died ${x.previous.length} time(s) in the window: ${summarizeCauses(x.previous)}.`
      : ` Before its current container${containers.length > 1 ? 's' : ''} existed, ${x.previous.length} death(s) of a previous container of ${service} (recreated since, with its own configuration) are in the window: ${summarizeCauses(x.previous)}.`;
  for (const d of x.previous.slice(-3))
    evidence.push(
      `${d.container} (no longer exists) died at ${d.time}: exit ${d.exitCode ?? '?'} (${d.meaning})`,
    );
  const idle = x.idleStops.length
    ? ` It was then stopped by an operator or API call at ${x.idleStops.at(-1)!.time} while the engine was waiting to restart it.`
    : '';
  const result = (summary: string, nextSteps: string[]) => ({
    summary: `${summary}${also}${idle}${again}${unhealthyNow}${summary.includes('OOM-killed') ? '' : inside}${prev}${logNote}${honesty}`,
    evidence,
    nextSteps: [
      ...(startFailed?.neverStarted ? [startFailed.neverStarted.fix] : []),
      ...nextSteps,
      ...(others.some((d) => d.cause === 'oom') && kind !== 'oom_killed'
        ? [
            `raise deploy.resources.limits.memory for ${service} too: it was OOM-killed as well (diagnose_oom suggests a value)`,
          ]
        : []),
      ...recorderStep,
    ],
  });

  switch (kind) {
    case 'never_started': {
      const c = containers.find((y) => y.neverStarted)!;
      const f = c.neverStarted!;
      if (f.error) evidence.push(`State.Error: ${f.error}`);
      if (f.ranBefore)
        return result(
          `${service} could not be started again: ${f.what}. It ran before; its latest start failed, so nothing of it runs now.${tail}`,
          [f.fix, ...(f.kind === 'port_in_use' ? [`run the port-conflict runbook for ${service}`] : [])],
        );
      if (f.kind === 'not_started')
        return result(
          `${service} was created but never started${x.blockedBy.length ? `: it waits for ${x.blockedBy.join('; ')}` : ''}.`,
          x.blockedBy.length
            ? [
                `fix the dependency first (why / runbook unhealthy-service on ${x.blockedBy.map((b) => b.split(' ')[0]).join(', ')}); Compose starts ${service} once its condition holds (docker compose up -d)`,
                'run the dependency-order runbook for the whole chain',
              ]
            : [f.fix],
        );
      return result(`${service} never started: ${f.what}.${tail}`, [
        f.fix,
        ...(f.kind === 'port_in_use' ? [`run the port-conflict runbook for ${service}`] : []),
        'Compose creates the container again with docker compose up -d once the Compose file or image is fixed',
      ]);
    }
    case 'oom_killed':
      evidence.push(
        `${count('oom')} OOM kill(s) of the main process in the window (oom then die 137, no API stop)`,
      );
      return result(
        `${service} was killed by the kernel OOM killer at its memory limit${limit ? ` of ${formatBytes(limit)}` : ''} (${times(count('oom'))}).${tail}`,
        [
          `raise deploy.resources.limits.memory for ${service} in docker-compose.prod.yml (diagnose_oom suggests a value), then recreate it`,
          'a plain restart_service will OOM again at the same limit',
          ...(service === 'opensearch'
            ? ['keep the JVM heap at half the limit (ES_JAVA_OPTS=-Xms… -Xmx…)']
            : []),
        ],
      );
    case 'app_error': {
      const errLine =
        [...(last?.logBefore ?? [])].reverse().find((l) => ERROR_LINE.test(l)) ?? last?.logBefore.at(-1);
      if (errLine) evidence.push(`last log line before it: ${errLine}`);
      const readOnly = readOnlyMountHint(x.details, last?.logBefore ?? []);
      if (readOnly) evidence.push(readOnly);
      const pids = pidsHint(x.details, last?.logBefore ?? []);
      if (pids) evidence.push(pids);
      const denied = (last?.logBefore ?? []).some((l) =>
        /permission denied|operation not permitted/i.test(l),
      );
      return result(
        `${service} exited with code ${last?.exitCode ?? '?'}${errLine ? ` after logging: ${errLine}` : ''} (${times(count('app_error'))}). Exit ${last?.exitCode ?? '?'}: ${last?.meaning ?? 'unknown'}.${readOnly ? ` ${readOnly}.` : ''}${pids ? ` ${pids}.` : ''}${last?.processOomKills ? ` ${last.processOomKills} process(es) inside were OOM-killed before it exited: the main process then exited by itself.` : ''}${tail}`,
        [
          readOnly
            ? 'drop the :ro from that mount if the app must write there, or stop the entrypoint from changing it (run the volume-permissions runbook)'
            : pids
              ? 'set init: true on the service (an init reaps exited children), make PID 1 wait for its children, or raise pids_limit'
              : denied
                ? `run the volume-permissions runbook for ${service}`
                : `fix what the log lines say (service_logs ${service} --level error for more)`,
          `then restart_service ${service}${x.exhausted ? ' (the policy is exhausted, so it will not come back by itself)' : ''}`,
        ],
      );
    }
    case 'paused': {
      const paused = x.details.filter((d) => d.state.paused).map((d) => d.name);
      return result(
        `${service} is paused (docker pause): ${paused.join(', ')} ${paused.length === 1 ? 'is' : 'are'} frozen, not failing; its health checks cannot run meanwhile.`,
        [`docker unpause ${paused.join(' ')} resumes it (doom-ops does not pause or unpause)`],
      );
    }
    case 'removed':
      return result(
        `${service} has no container now: it was removed${x.removedAt ? ` at ${x.removedAt}` : ''} (docker compose rm or down, or docker rm), not recreated.`,
        [`bring it back with docker compose up -d ${service} (stack_up)`],
      );
    case 'killed_by_signal':
      return result(
        last?.viaApi
          ? `${service} was killed by ${last.signal ?? 'a signal'} sent through the Docker API (docker kill), not by a failure of its own.${tail}`
          : `${service} was killed by ${last?.signal ?? 'a signal'} that did not come through the Docker API: a kill on the host, from inside the container (kill 1 in an exec), or an OOM kill whose event is no longer kept. Not an exit of its own.${tail}`,
        [
          last?.viaApi
            ? 'check the audit log and who has access to the Docker socket'
            : 'find what sent it: a process inside the container (a supervisor, a script running kill 1), or someone or something on the host (kill, the kernel OOM killer)',
          ...(x.down ? [`start it again with restart_service ${service} if it should run`] : []),
        ],
      );
    case 'clean_exit_loop': {
      const c = containers[0]!;
      const runs = deaths
        .filter((d) => d.cause === 'clean_exit' && d.runStartedAt)
        .map((d) => (Date.parse(d.time) - Date.parse(d.runStartedAt!)) / 1000);
      const typical = runs.length ? runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)]! : null;
      const tty = x.details.some((d) => d.tty);
      if (typical !== null && typical >= 60)
        return result(
          `${service} is in a restart loop of clean exits: it exits with code 0 after about ${Math.round(typical)} s each time (RestartCount ${c.restartCount}, restart policy ${c.restartPolicy}), and the engine starts it again. It finishes its work and ends; restart ${c.restartPolicy} turns that into a loop.`,
          [
            'for a job that should end, use restart: "no" or on-failure and run it on a schedule; for a service, keep its main loop running',
            `its logs say what it did before each exit: service_logs ${service}`,
          ],
        );
      return result(
        `${service} is in a restart loop of clean exits: it exits with code 0 seconds after each start (RestartCount ${c.restartCount}, restart policy ${c.restartPolicy}), and the engine starts it again. A program that exits at once with 0 usually ${tty ? 'daemonised itself into the background (run it in the foreground, e.g. a --foreground / "daemon off" option), or has nothing to do without its arguments or input' : 'waits on a stdin that is closed (give it stdin_open: true and tty: true, or run it non-interactively) or daemonised itself into the background (run it in the foreground, e.g. a --foreground / "daemon off" option)'}.`,
        [
          `check what ${service}'s command does when it has no terminal: service_logs ${service}`,
          'keep the main process in the foreground; for a one-shot job use restart: "no" (or on-failure) instead of always',
        ],
      );
    }
    case 'unexplained_restarts':
      return result(
        `${service} restarted ${times(0)} but the engine no longer says why: it has started again since (the exit code is reset) and the events of its deaths are gone.${last?.logBefore.length ? ` Its last log lines before the death at ${last.time} are below.` : ''}`,
        [
          `read its logs around ${last?.time ?? 'the restart'}: service_logs ${service} --until ${last?.time ?? '…'}`,
        ],
      );
    case 'broken_probe': {
      const h = x.health.find((y) => y.probe?.failure === 'broken');
      if (h?.lastHealthOutput) evidence.push(`health check output: ${h.lastHealthOutput}`);
      return result(
        `${noDeathYet}; its health probe cannot run: ${h?.lastHealthOutput ?? 'no output'}. The probe's command${h?.probe?.program ? ` "${h.probe.program}"` : ''} is not in the image (or not executable), so Docker reports unhealthy whatever the app does.`,
        [
          `fix the healthcheck test of ${service} in the Compose file: use a program the image has (e.g. wget -qO- in busybox images, or the app's own health command)`,
          'restarting will not help: the probe fails the same way',
        ],
      );
    }
    case 'unhealthy': {
      const out = containers.find((c) => c.lastHealthOutput)?.lastHealthOutput;
      if (out) evidence.push(`health check output: ${out}`);
      const refused = x.health.some((h) => h.probe?.failure === 'refused');
      return result(
        `${noDeathYet}; its health check is failing${out ? `: ${out}` : ''}.${refused ? ' The probe is refused: nothing listens on that port (yet).' : ''}`,
        [
          `run the unhealthy-service checks: service_logs ${service} --level warn, service_stats ${service}`,
          'Docker does not restart unhealthy containers by itself',
        ],
      );
    }
    case 'operator_restart': {
      const op = [...deaths].reverse().find((d) => d.cause === 'operator')!;
      evidence.push(
        `${count('operator')} stop/restart(s) through the Docker API (kill, then die, then stop/restart)`,
      );
      const restarted = !x.down;
      const how = restarted ? 'restarted' : 'stopped';
      const by = restarted ? 'docker restart, compose restart' : 'docker stop, compose stop or down';
      if (op.source === 'state')
        return result(`${service} was ${op.note ?? `${how} by an operator or API call`}.`, [
          'the audit log (doom-ops audit) shows restarts made through doom-ops',
          `its logs up to ${op.time} may say how the previous run ended: service_logs ${service} --until ${op.time}`,
        ]);
      if (op.stopTimeout)
        return result(
          `${service} was ${how} by an operator or API call (${by}) at ${op.time}, and its main process did not exit on ${op.stopTimeout.stopSignal}: it was killed with SIGKILL after the ${op.stopTimeout.graceSeconds} s stop timeout (exit 137). That is an unclean shutdown: whatever it was doing was cut off.${tail}`,
          SIGTERM_FIXES,
        );
      return result(
        `${service} was ${how} by an operator or API call (${by}) at ${op.time}: restarted or stopped on purpose, no failure.${x.down ? ` ${service} is not running.` : ''}`,
        ['nothing to fix; the audit log (doom-ops audit) shows restarts made through doom-ops'],
      );
    }
    case 'clean_exit':
      return result(`${service} exited normally (code 0).${tail}`, [
        `if it should keep running, check its command and restart policy (${containers[0]?.restartPolicy ?? 'no'})`,
      ]);
    default:
      return result(
        `${noDeathYet}.`,
        x.processOomKills
          ? [`size the memory limit for its workers: diagnose_oom ${service}`]
          : ['widen the window with since, or check stack_health'],
      );
  }
}

const CAUSE_WORDS: Record<Death['cause'], string> = {
  oom: 'OOM kill',
  operator: 'operator stop/restart',
  signal: 'killed by a signal',
  app_error: 'application error',
  clean_exit: 'clean exit',
  unknown: 'unknown cause',
};

/** "3 OOM kill(s), 1 application error(s)" */
function summarizeCauses(deaths: Death[]): string {
  const counts = new Map<string, number>();
  for (const d of deaths) counts.set(CAUSE_WORDS[d.cause], (counts.get(CAUSE_WORDS[d.cause]) ?? 0) + 1);
  return [...counts].map(([w, n]) => `${n} ${w}(s)`).join(', ');
}

/** "can't fork" in the logs of a container with a pids_limit: it ran out of PIDs. */
function pidsHint(details: ContainerDetail[], lines: string[]): string | null {
  const line = lines.find((l) =>
    /can't fork|fork: (retry: )?resource temporarily unavailable|pthread_create failed|cannot allocate memory.*(fork|thread)/i.test(
      l,
    ),
  );
  const limited = details.find((d) => d.pidsLimit);
  if (!line || !limited) return null;
  return `"${line.trim()}" with pids_limit ${limited.pidsLimit}: it ran out of PIDs (zombies PID 1 never reaped count too)`;
}

/** "…: Read-only file system" in the logs, tied to the container's read-only mount of that path. */
function readOnlyMountHint(details: ContainerDetail[], lines: string[]): string | null {
  const line = lines.find((l) => /read-only file system|EROFS/i.test(l));
  if (!line) return null;
  for (const d of details)
    for (const m of d.mounts.filter((y) => !y.rw))
      if (line.includes(m.destination))
        return `${m.destination} is mounted read-only (:ro, ${m.type} ${m.name ?? m.source}), so writing or chown there fails with "Read-only file system"`;
  const rootRo = details.find((d) => d.readOnlyRootfs);
  if (rootRo) {
    const path = /(\/[\w./-]+)/.exec(line)?.[1];
    const onMount = path && rootRo.mounts.some((m) => m.rw && path.startsWith(m.destination));
    if (!onMount)
      return `its root filesystem is read-only (read_only: true)${path ? ` and ${path} is not on a writable mount` : ''}, so writing there fails with "Read-only file system": add a volume or tmpfs for that path`;
  }
  const ro = details.flatMap((d) => d.mounts.filter((y) => !y.rw));
  return ro.length
    ? `read-only mounts: ${ro.map((m) => `${m.destination} (:ro)`).join(', ')}; the log says "Read-only file system"`
    : null;
}
