import { z } from 'zod';
import type { LogLine } from '../../adapters/docker/types.js';
import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { ToolError } from '../../errors.js';
import { LEVELS } from '../../knowledge/log-levels.js';
import type { Redactor } from '../../safety/redact.js';
import { parseTimePoint } from '../../util/duration.js';
import { defineTool } from '../define-tool.js';
import { forEachLogLine, swarmServiceLogs } from '../lib/container-logs.js';
import { replicaField, serviceField, timePoint } from '../lib/fields.js';
import { capBytes, lineMatcher, Ring } from '../lib/log-filter.js';
import { projectRedactor } from '../lib/secrets.js';
import { containersOf, stackReplicas } from '../lib/stack.js';
import { stackKind } from '../lib/stack-kind.js';
import { taskLabel } from '../lib/swarm-health.js';

/** Long scans report progress this often (only to callers that asked for progress). */
const PROGRESS_EVERY = 5000;

const line = z.object({
  container: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  time: z.string().nullable(),
  level: z.enum(LEVELS).nullable(),
  text: z.string(),
});

export const serviceLogs = defineTool({
  name: 'service_logs',
  title: 'Service logs',
  description:
    'Recent log lines of one service (all its replicas, merged by time), stdout and stderr demultiplexed, with ' +
    'secrets redacted. Filters: tail (newest N matching lines), since/until (10m, 2h, RFC 3339), grep ' +
    '(case-insensitive substring), level (minimum JSON/text log level, so "error" also keeps "fatal"). With ' +
    'grep or level, only the newest scanLines lines are searched; scanLimitReached says when older lines were not. ' +
    'Replicas whose logging driver cannot be read back (none, or a remote driver with cache-disabled) are listed in unavailable with the reason.',
  summary:
    'Use to read the recent log lines of one service, merged across replicas and redacted. Filter by tail, ' +
    'time window, substring or minimum level; returns the matching lines.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    service: serviceField,
    replica: replicaField,
    tail: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Newest N matching lines to return (default from config, 100)'),
    since: timePoint
      .optional()
      .describe('Start of the window: 10m, 2h, 2026-01-02T03:04:05Z or unix seconds'),
    until: timePoint.optional().describe('End of the window, same forms as since'),
    grep: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('Keep lines containing this text (case-insensitive)'),
    level: z
      .enum(LEVELS)
      .optional()
      .describe('Keep lines at this level or above (JSON "level" field or a leading LEVEL word)'),
    maxBytes: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Cap on returned log text; the oldest lines are dropped first'),
  }),
  output: z.object({
    project: z.string(),
    service: z.string(),
    containers: z.array(z.string()),
    lines: z.array(line),
    scannedLines: z.number(),
    matchedLines: z.number(),
    scanLimitReached: z.boolean(),
    truncated: z.boolean().describe('true when lines were dropped to respect tail or maxBytes'),
    maxBytes: z
      .number()
      .describe('the size cap applied to the returned text (input maxBytes, else logs.maxBytes)'),
    cutBySize: z
      .number()
      .describe(
        'matching lines left out because the text would pass maxBytes (oldest first); when every line was cut, the newest alone is larger than the cap',
      ),
    redactions: z.number().describe('how many returned lines had secret values masked'),
    unavailable: z
      .array(z.object({ container: z.string(), reason: z.string() }))
      .describe(
        'replicas whose logs the engine cannot read back (logging driver none, or a remote driver with its cache disabled), and why',
      ),
  }),
  async run(ctx, input) {
    const limits = ctx.config.logs;
    const tail = input.tail ?? limits.defaultTail;
    if (tail > limits.maxTail) {
      throw new ToolError(
        'invalid_input',
        `invalid input for service_logs: tail: at most ${limits.maxTail} (config logs.maxTail)`,
      );
    }
    const since = input.since === undefined ? undefined : parseTimePoint(input.since);
    const until = input.until === undefined ? undefined : parseTimePoint(input.until);
    if (since !== undefined && until !== undefined && since > until) {
      throw new ToolError('invalid_input', 'invalid input for service_logs: since: must be before until');
    }

    const filtering = Boolean(input.grep || input.level);
    // Unfiltered, Docker's own tail does the work; filtered, scan a bounded window of newest lines.
    const engineTail = filtering ? limits.scanLines : tail;
    const matches = lineMatcher({ level: input.level, grep: input.grep });
    let scanned = 0;
    let matched = 0;
    let scanLimitReached = false;
    const unavailable: Array<{ container: string; reason: string }> = [];
    /** The newest `tail` matching lines of each replica (bounded however long the log is). */
    const rings = new Map<string, Ring<z.output<typeof line> & { masked: boolean }>>();
    const take = (redactor: Redactor, container: string, l: LogLine): void => {
      // Match on redacted text, so grep cannot be used to probe for a secret's value.
      const before = redactor.count;
      const text = redactor(l.text);
      const m = matches(text);
      if (!m.matches) return;
      matched++;
      const ring = rings.get(container) ?? new Ring(tail);
      rings.set(container, ring);
      ring.push({
        container,
        stream: l.stream,
        time: l.time ?? null,
        level: m.level,
        text,
        masked: redactor.count > before,
      });
    };

    let containers: string[];
    if ((await stackKind(ctx)) === 'swarm') {
      // One stream for the whole service from a manager; each line names its task.
      const swarm = new SwarmAdapter(ctx.docker);
      const [svc, nodes] = await Promise.all([
        swarm.service(ctx.project, input.service, ctx.signal),
        swarm.nodes(ctx.signal),
      ]);
      const tasks = await swarm.tasks([svc.name], ctx.signal);
      const taskName = (id: string | undefined): string => {
        const t = tasks.find((x) => x.id === id);
        return t ? taskLabel(svc.name, t, nodes) : `${svc.name}.${(id ?? '?').slice(0, 12)}`;
      };
      const wanted =
        input.replica === undefined
          ? undefined
          : new Set(tasks.filter((t) => t.slot === input.replica).map((t) => t.id));
      if (wanted?.size === 0)
        throw new ToolError('not_found', `service "${input.service}" has no task in slot ${input.replica}`);
      const redactor = await projectRedactor(ctx);
      for await (const l of swarmServiceLogs(ctx, svc, { tail: engineTail, since, until })) {
        if (wanted && !wanted.has(l.task ?? '')) continue;
        if (++scanned % PROGRESS_EVERY === 0)
          ctx.progress({ progress: scanned, message: `${svc.name}: scanned ${scanned} lines` });
        take(redactor, taskName(l.task), l);
      }
      // Docker applies tail per task; without a per-task count this is the best bound to report.
      if (filtering && scanned >= engineTail) scanLimitReached = true;
      containers = [...new Set(tasks.filter((t) => !wanted || wanted.has(t.id)).map((t) => taskName(t.id)))];
    } else {
      let targets = containersOf(ctx, await stackReplicas(ctx), input.service);
      if (input.replica !== undefined) {
        targets = targets.filter((c) => c.number === input.replica);
        if (targets.length === 0)
          throw new ToolError('not_found', `service "${input.service}" has no replica ${input.replica}`);
      }
      const details = await ctx.docker.inspectMany(
        targets.map((c) => c.id),
        ctx.signal,
      );
      // Every secret of the project: a service may log another service's password.
      const redactor = await projectRedactor(ctx, details);
      await Promise.all(
        details.map(async (d) => {
          let count = 0;
          const reason = await forEachLogLine(ctx, d, { tail: engineTail, since, until }, (l) => {
            count++;
            if (count % PROGRESS_EVERY === 0)
              ctx.progress({ progress: count, message: `${d.name}: scanned ${count} lines` });
            take(redactor, d.name, l);
          });
          if (reason) unavailable.push({ container: d.name, reason });
          scanned += count;
          if (filtering && count >= engineTail) scanLimitReached = true;
        }),
      );
      containers = details.map((d) => d.name);
    }
    const perContainer = [...rings.values()].map((r) => r.toArray());
    const merged = perContainer.flat().sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
    const newest = merged.slice(-tail);
    const maxBytes = input.maxBytes ?? limits.maxBytes;
    const capped = capBytes(newest, maxBytes);
    return {
      project: ctx.project,
      service: input.service,
      containers,
      lines: capped.lines.map(({ masked: _, ...l }) => l),
      scannedLines: scanned,
      matchedLines: matched,
      scanLimitReached,
      truncated: capped.dropped > 0 || merged.length > newest.length,
      maxBytes,
      cutBySize: capped.dropped,
      redactions: capped.lines.filter((l) => l.masked).length,
      unavailable,
    };
  },
});
