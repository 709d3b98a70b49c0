import { z } from 'zod';
import type { ContainerDetail } from '../../adapters/docker/types.js';
import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { LogAggregator } from '../../knowledge/log-report.js';
import { defineTool } from '../define-tool.js';
import { forEachLogLine, swarmServiceLogs } from '../lib/container-logs.js';
import { serviceField, timePoint } from '../lib/fields.js';
import { logWindow, serviceLogSources } from '../lib/log-sources.js';
import { projectRedactor } from '../lib/secrets.js';
import { stackKind } from '../lib/stack-kind.js';

const message = z.object({
  message: z
    .string()
    .describe('the message with numbers, ids, IPs and quoted values replaced, so repeats group'),
  count: z.number(),
  level: z.string(),
  firstSeen: z.string().nullable(),
  lastSeen: z.string().nullable(),
  example: z.string().describe('one original line (secrets redacted)'),
});

const latency = z
  .object({ count: z.number(), mean: z.number(), p50: z.number(), p95: z.number(), max: z.number() })
  .nullable()
  .describe(
    'stats of the latency field over JSON lines that have it (nearest-rank percentiles); null when none',
  );

export const logReport = defineTool({
  name: 'log_report',
  title: 'Log report',
  description:
    "The handbook's log analysis over a time window, per service: lines by level, error and warning counts, the top " +
    'error and warning messages (grouped with variable parts masked) with first and last seen, and latency statistics ' +
    '(count, mean, p50, p95, max) of a JSON field such as latency_ms. Use it for "what went wrong in the last hour"; ' +
    'service_logs shows the lines themselves. A service whose logs cannot be read back says why in logsUnavailable; the others are still reported.',
  summary:
    'Use for what went wrong in the last hour or another window. Returns per service the lines by level, ' +
    'top error and warning messages and latency statistics.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    services: z
      .array(serviceField)
      .max(20)
      .optional()
      .describe('Services to report on (default: every service with containers)'),
    since: timePoint
      .default('1h')
      .describe('Start of the window: 1h (default), 30m, RFC 3339 or unix seconds'),
    until: timePoint.optional().describe('End of the window, same forms'),
    latencyField: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/)
      .default('latency_ms')
      .describe('JSON field holding a latency number (default latency_ms)'),
    top: z
      .number()
      .int()
      .min(1)
      .max(50)
      .default(10)
      .describe('How many top messages per service (default 10)'),
  }),
  output: z.object({
    project: z.string(),
    since: z.string(),
    until: z.string().nullable(),
    services: z.array(
      z.object({
        service: z.string(),
        containers: z.array(z.string()),
        lines: z.number(),
        scanLimitReached: z
          .boolean()
          .describe('true when logs.scanLines newest lines per container did not cover the window'),
        byLevel: z.record(z.string(), z.number()),
        errors: z.number(),
        warnings: z.number(),
        topErrors: z.array(message),
        topWarnings: z.array(message),
        latency,
        logsUnavailable: z
          .string()
          .nullable()
          .describe(
            'why some replicas could not be read (logging driver none, or a remote driver with cache-disabled); null when all were',
          ),
        coverage: z
          .string()
          .nullable()
          .describe(
            'when the logging driver rotated away the start of the window (max-size/max-file), from when the kept lines start',
          ),
      }),
    ),
  }),
  async run(ctx, input) {
    const { since, until } = logWindow('log_report', input);
    const scanLines = ctx.config.logs.scanLines;
    if ((await stackKind(ctx)) === 'swarm') {
      // One stream per service from a manager (every task's lines); Swarm keeps no rotation options here.
      const swarm = new SwarmAdapter(ctx.docker);
      const all = await swarm.services(ctx.project, ctx.signal);
      const wanted = input.services
        ? await Promise.all(input.services.map((n) => swarm.service(ctx.project, n, ctx.signal)))
        : all;
      const redactor = await projectRedactor(ctx);
      const services = [];
      for (const svc of wanted) {
        const agg = new LogAggregator(input.latencyField);
        let n = 0;
        for await (const l of swarmServiceLogs(ctx, svc, { tail: scanLines, since, until })) {
          n++;
          agg.add(redactor(l.text), l.time ?? null);
        }
        ctx.progress({ progress: services.length, total: wanted.length, message: `${svc.name}: ${n} lines` });
        services.push({
          service: svc.service,
          containers: [svc.name],
          scanLimitReached: n >= scanLines,
          ...agg.result(input.top),
          logsUnavailable: null,
          coverage: null,
        });
      }
      return {
        project: ctx.project,
        since: new Date(since * 1000).toISOString(),
        until: until === undefined ? null : new Date(until * 1000).toISOString(),
        services,
      };
    }
    const sources = await serviceLogSources(ctx, input.services);
    const out = [];
    for (const { service, details, redactor } of sources) {
      const agg = new LogAggregator(input.latencyField);
      let scanLimitReached = false;
      const unavailable: string[] = [];
      const notes: string[] = [];
      for (const d of details) {
        let n = 0;
        let first: string | null = null;
        const reason = await forEachLogLine(ctx, d, { tail: scanLines, since, until }, (l) => {
          n++;
          first ??= l.time ?? null;
          agg.add(redactor(l.text), l.time ?? null);
        });
        if (reason) unavailable.push(`${reason} (${d.name})`);
        const rotated = rotationGap(d, first, since);
        if (rotated) notes.push(rotated);
        if (n >= scanLines) scanLimitReached = true;
        ctx.progress({ progress: out.length, total: sources.length, message: `${d.name}: ${n} lines` });
      }
      out.push({
        service,
        containers: details.map((d) => d.name),
        scanLimitReached,
        ...agg.result(input.top),
        logsUnavailable: unavailable.length ? unavailable.join('; ') : null,
        coverage: notes.length ? notes.join('; ') : null,
      });
    }
    return {
      project: ctx.project,
      since: new Date(since * 1000).toISOString(),
      until: until === undefined ? null : new Date(until * 1000).toISOString(),
      services: out,
    };
  },
});

/**
 * A json-file/local log rotated by max-size keeps only its newest lines: when the oldest line read
 * is later than the window (or the container) starts, say so rather than report an error-free window.
 */
function rotationGap(d: ContainerDetail, first: string | null, since: number): string | null {
  const o = d.logConfig.options;
  if (!o['max-size'] || !['json-file', 'local'].includes(d.logConfig.driver)) return null;
  const from = Math.max(since * 1000, Date.parse(d.createdAt));
  if (first === null || Date.parse(first) - from < 2000) return null;
  return `${d.name}: its oldest kept line is from ${first}; lines logged before may have been rotated away by its logging driver (max-size ${o['max-size']}, max-file ${o['max-file'] ?? '1'}), and errors among them are not counted`;
}
