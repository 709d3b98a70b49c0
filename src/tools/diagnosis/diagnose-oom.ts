import { z } from 'zod';
import { serviceName } from '../../config/schema.js';
import { deathFromState, readHistory } from '../../knowledge/restart-analysis.js';
import { RECORDED_ACTIONS } from '../../recorder/recorder.js';
import { formatBytes, parseTimePoint } from '../../util/duration.js';
import { defineTool } from '../define-tool.js';
import { gatherEvidence } from '../lib/evidence.js';
import { windowSinceField } from '../lib/fields.js';
import { memoryPeak } from '../lib/memory-peak.js';
import { containerHealth } from '../lib/service-status.js';
import { stackKind } from '../lib/stack-kind.js';
import { swarmDiagnoseOom } from '../lib/swarm-oom.js';

const MIB = 1024 * 1024;
/** Suggested limits are rounded up to this step, as limits are usually written (64M, 128M…). */
const STEP = 64 * MIB;
const HEADROOM = 1.5;
/** Lifecycle events (not health probes): enough to tell an OOM death from a process killed inside. */
const LIFECYCLE = RECORDED_ACTIONS.filter((a) => a !== 'health_status');

export const diagnoseOom = defineTool({
  name: 'diagnose_oom',
  title: 'Diagnose OOM kills',
  description:
    'OOM kills across the stack (or one service) in a time window: how often and when, the memory limit vs the ' +
    'observed peak (cgroup max usage, or the limit itself when the container was killed at it), restart consequences ' +
    '(restart count, exhausted policy), and a suggested new limit with the reasoning and where to set it ' +
    '(deploy.resources.limits.memory; for OpenSearch the JVM heap at half the limit). oomKills counts the oom ' +
    "events the engine still holds (it keeps only its last 256 events) plus the event recorder's history when one runs; " +
    'processes OOM-killed inside a container that kept running are counted apart (processOomKills), and when the events ' +
    "are gone the containers' own state (OOMKilled, exit 137) gives a lower bound. On a Swarm stack the evidence is the " +
    "manager's task history: each failed exit-137 task is checked on its node's engine (swarm.nodes); kills on a node " +
    'without an endpoint are named as unconfirmed.',
  summary:
    'Use when a service was OOM-killed or runs short of memory. Returns OOM kills in a window, limit ' +
    'against observed peak, restart consequences and a suggested limit.',
  risk: 'read',
  idempotent: true,
  stackKinds: ['compose', 'swarm'],
  input: z.object({
    service: serviceName.optional().describe('Only this service (default: the whole stack)'),
    since: windowSinceField,
  }),
  output: z.object({
    project: z.string(),
    window: z.object({ since: z.string(), until: z.string() }),
    summary: z.string(),
    services: z.array(
      z.object({
        service: z.string(),
        containers: z.array(z.string()),
        oomKills: z
          .number()
          .describe(
            'times the container itself was OOM-killed in the window (its main process: oom then die 137, from events or, when they are gone, its own state)',
          ),
        processOomKills: z
          .number()
          .describe(
            'processes OOM-killed inside while the container kept running (oom events with no death)',
          ),
        oomKilledFlag: z
          .boolean()
          .describe(
            'OOMKilled=true that no kept event explains: at least one OOM kill, of the main process or a process inside',
          ),
        previousContainerOomKills: z
          .number()
          .describe(
            'OOM kills of containers of the service that no longer exist (recreated since; other configuration)',
          ),
        running: z.boolean(),
        evidence: z.string().describe('where the counts come from and what is no longer kept'),
        lastOomAt: z.string().nullable(),
        memoryLimitBytes: z.number().nullable(),
        observedPeakBytes: z.number().nullable(),
        peakSource: z.string(),
        restartCount: z.number(),
        policyExhausted: z.boolean(),
        suggestedLimitBytes: z.number().nullable(),
        suggestedLimit: z
          .string()
          .nullable()
          .describe('the suggestion as written in a Compose file, e.g. 64M'),
        reasoning: z.string(),
        whereToSet: z.string(),
      }),
    ),
  }),
  async run(ctx, input) {
    if ((await stackKind(ctx)) === 'swarm') {
      const until = Math.floor(Date.now() / 1000);
      const since = parseTimePoint(input.since, Date.now()) ?? until - 3600;
      const services = await swarmDiagnoseOom(ctx, input.service, since);
      return {
        project: ctx.project,
        window: { since: new Date(since * 1000).toISOString(), until: new Date(until * 1000).toISOString() },
        summary: summarize(services, input.service, since),
        services,
      };
    }
    const { now, since, until, details, events, recorderRan } = await gatherEvidence(ctx, {
      service: input.service,
      since: input.since,
      actions: LIFECYCLE,
      max: 5000,
    });
    // Order decides: oom then die 137 is the container OOM-killed; an oom with no death is a process
    // inside killed while the container lived on; an operator stop with an oom in between is neither.
    const history = readHistory(events);
    const serviceOf = new Map<string, string>();
    for (const e of events) {
      const svc = e.attributes['com.docker.compose.service'];
      if (svc && e.name) serviceOf.set(e.name, svc);
    }
    for (const d of details) if (d.service) serviceOf.set(d.name, d.service);
    const services = [
      ...new Set([
        ...details.map((d) => d.service ?? ''),
        ...events.map((e) => e.attributes['com.docker.compose.service'] ?? ''),
      ]),
    ]
      .filter(Boolean)
      .sort();

    const result = [];
    for (const service of services) {
      const mine = details.filter((d) => d.service === service);
      const current = new Set(mine.map((d) => d.id));
      const ofService = (name: string) => serviceOf.get(name) === service;
      // Kills of containers that no longer exist (recreated since) had another configuration; a
      // recreated container has the old name, never the old id.
      const previousOoms = history.deaths.filter(
        (d) => d.cause === 'oom' && ofService(d.container) && !current.has(d.id),
      );
      const ooms = history.deaths.filter((d) => d.cause === 'oom' && current.has(d.id));
      const fromState = mine
        .map((d) => deathFromState(d, history.deaths, since * 1000))
        .filter((d): d is NonNullable<typeof d> => d?.cause === 'oom');
      ooms.push(...fromState);
      const insideKills = history.processOomKills.filter((k) => current.has(k.id));
      const inside = insideKills.length;
      // OOMKilled=true that no kept event explains: something in it was OOM-killed, which is unknown.
      const flagOnly = mine.filter((d) => d.state.oomKilled && !ooms.some((o) => o.id === d.id));
      const unexplainedFlag = flagOnly.length > 0 && inside === 0;
      if (ooms.length === 0 && inside === 0 && flagOnly.length === 0 && previousOoms.length === 0) continue;
      const notes: string[] = [];
      if (fromState.length)
        notes.push(
          `at least ${fromState.length} OOM kill(s) known only from the container state (OOMKilled=true with exit 137): the oom events are no longer kept`,
        );
      if (unexplainedFlag)
        notes.push(
          `OOMKilled=true on ${flagOnly.map((d) => d.name).join(', ')} with no oom event kept: at least one OOM kill in it, of its main process or of a process inside (the events that would say which are no longer kept)`,
        );
      if (previousOoms.length)
        notes.push(
          `${previousOoms.length} OOM kill(s) of a previous container of ${service} (recreated since, with its own configuration)`,
        );
      if ((fromState.length || unexplainedFlag) && !recorderRan)
        notes.push('run the event recorder (doom-ops serve or doom-ops record) so OOM events are kept');
      const limit = mine.map((d) => d.memoryLimitBytes).find((l) => l !== null) ?? null;
      const hitNow = ooms.length > 0 || inside > 0 || flagOnly.length > 0;
      // A running replica's cgroup remembers its peak; one killed at the limit peaked at the limit.
      const sampled = await memoryPeak(
        mine.filter((x) => x.state.running).map((d) => ({ engine: ctx.docker, id: d.id })),
        'the running replica',
        ctx.signal,
      );
      let peak: number | null = sampled?.bytes ?? null;
      let peakSource = sampled?.source ?? 'unknown';
      if (limit !== null && (peak === null || peak < limit) && hitNow) {
        peak = limit;
        peakSource = 'reached the limit (the kernel OOM killer fired at it)';
      }
      const base = Math.max(limit ?? 0, peak ?? 0);
      // Only kills of the current containers say anything about the current limit.
      const suggested = limit === null || !hitNow ? null : Math.ceil((base * HEADROOM) / STEP) * STEP;
      const restartCount = mine.reduce((n, d) => n + d.restartCount, 0);
      const policyExhausted = mine.some((d) => containerHealth(d, 0, now).policyExhausted);
      const heap =
        service === 'opensearch' && suggested
          ? ` and keep the JVM heap at half: ES_JAVA_OPTS=-Xms${Math.floor(suggested / 2 / MIB)}m -Xmx${Math.floor(suggested / 2 / MIB)}m`
          : '';
      const running = mine.some((d) => d.state.running);
      result.push({
        service,
        containers: mine.map((d) => d.name),
        oomKills: ooms.length,
        processOomKills: inside,
        oomKilledFlag: unexplainedFlag,
        previousContainerOomKills: previousOoms.length,
        evidence: notes.length
          ? notes.join('; ')
          : `engine events${recorderRan ? ' and the event recorder' : ''}: ${ooms.length} container OOM kill(s), ${inside} process(es) killed inside`,
        lastOomAt: [...ooms.map((o) => o.time), ...insideKills.map((k) => k.time)].sort().at(-1) ?? null,
        memoryLimitBytes: limit,
        observedPeakBytes: peak,
        peakSource,
        restartCount,
        policyExhausted,
        suggestedLimitBytes: suggested,
        suggestedLimit: suggested === null ? null : `${Math.round(suggested / MIB)}M`,
        reasoning: !hitNow
          ? mine.length === 0
            ? `no container of ${service} exists now (removed); the OOM kills in the window were of the removed one, whose limit is no longer known`
            : `the OOM kills in the window were of a previous container of ${service}, recreated since; the current one${limit ? ` (limit ${formatBytes(limit)})` : ''} has not been OOM-killed, so there is nothing to size yet`
          : limit === null
            ? 'no memory limit is set: the host ran out of memory; set a limit so one service cannot take the host down'
            : `peak ${formatBytes(peak)} (${peakSource}) against a limit of ${formatBytes(limit)}; ${HEADROOM}x headroom over the larger, rounded up to 64 MiB, gives ${formatBytes(suggested)}${policyExhausted ? '; its restart policy is exhausted, so it stays down until recreated' : ''}${inside ? `; ${inside} process(es) inside were OOM-killed${running ? ' while the container kept running' : ''} (workers or children: raise the limit or run fewer/smaller workers)` : ''}`,
        whereToSet: `services.${service}.deploy.resources.limits.memory in docker-compose.prod.yml${heap}, then recreate the service (docker compose up -d ${service})`,
        running,
      });
    }
    return {
      project: ctx.project,
      window: { since: new Date(since * 1000).toISOString(), until: new Date(until * 1000).toISOString() },
      summary: summarize(result, input.service, since),
      services: result,
    };
  },
});

/** One line per service with OOM kills, or that there were none. */
function summarize(
  result: Array<{
    service: string;
    containers: string[];
    previousContainerOomKills: number;
    oomKilledFlag: boolean;
    oomKills: number;
    processOomKills: number;
    running: boolean;
    memoryLimitBytes: number | null;
    suggestedLimit: string | null;
    evidence: string;
  }>,
  service: string | undefined,
  since: number,
): string {
  return result.length
    ? result
        .map(
          (r) =>
            `${r.service}: ${r.containers.length === 0 && r.previousContainerOomKills ? `no container now (removed); ${r.previousContainerOomKills} OOM kill(s) of the removed one` : r.oomKilledFlag && r.oomKills === 0 ? 'at least 1 OOM kill (OOMKilled=true; whether of its main process or a process inside, the events no longer say)' : `${r.oomKills} OOM kill(s) of the container`}${r.processOomKills ? `, ${r.processOomKills} process(es) OOM-killed inside${r.running ? ' while it kept running' : ''}` : ''}, limit ${formatBytes(r.memoryLimitBytes)}, suggest ${r.suggestedLimit ?? (r.containers.length === 0 && r.previousContainerOomKills ? 'nothing until it exists again' : r.memoryLimitBytes === null ? 'setting a limit' : 'no change')}${r.evidence.startsWith('engine events') ? '' : ` (${r.evidence})`}`,
        )
        .join('; ')
    : `no OOM kills in ${service ?? 'the stack'} since ${new Date(since * 1000).toISOString()}`;
}
