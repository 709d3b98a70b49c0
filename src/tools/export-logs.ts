import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { containerLogs, LogsUnavailableError } from './lib/container-logs.js';
import { serviceField, timePoint } from './lib/fields.js';
import { logWindow, serviceLogSources } from './lib/log-sources.js';

const EXPORT_TIMEOUT_MS = 30 * 60_000;

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '_');
}

export const exportLogs = defineTool({
  name: 'export_logs',
  title: 'Export logs to files',
  description:
    "The handbook's log aggregation (scripts/aggregate_logs.sh) without its pitfalls: each service's logs over a window " +
    'are streamed to <logs.exportDir>/<service>_<YYYYMMDD_HHMMSS>.log, one line per log line with its timestamp, ' +
    'container and stream, secrets redacted, each file capped (logs.exportMaxBytes; the cut is written at the end). ' +
    'Returns the files with line and byte counts.',
  risk: 'write',
  idempotent: false,
  input: z.object({
    services: z
      .array(serviceField)
      .max(30)
      .optional()
      .describe('Services (default: every service with containers)'),
    since: timePoint
      .default('24h')
      .describe('Start of the window: 24h (default), 30m, RFC 3339 or unix seconds'),
    until: timePoint.optional().describe('End of the window, same forms'),
  }),
  output: z.object({
    dir: z.string(),
    files: z.array(
      z.object({
        service: z.string(),
        file: z.string(),
        containers: z.array(z.string()),
        lines: z.number(),
        bytes: z.number(),
        truncated: z.boolean().describe('true when the size cap cut the file'),
        logsUnavailable: z
          .string()
          .nullable()
          .describe('replicas whose logs the engine cannot read back, and why (noted in the file too)'),
      }),
    ),
  }),
  async run(ctx, input) {
    const { since, until } = logWindow('export_logs', input);
    const dir = resolve(ctx.config.logs.exportDir);
    await mkdir(dir, { recursive: true });
    const cap = ctx.config.logs.exportMaxBytes;
    const sources = await serviceLogSources(ctx, input.services);
    const ts = stamp();
    const files = [];
    for (const { service, details, redactor } of sources) {
      const file = join(dir, `${service}_${ts}.log`);
      const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
      let bytes = 0;
      let lines = 0;
      let truncated = false;
      const unavailable: string[] = [];
      try {
        for (const d of details) {
          try {
            // Streaming to disk may take long; the caller's signal still cancels it.
            for await (const l of containerLogs(ctx, d, { since, until, timeoutMs: EXPORT_TIMEOUT_MS })) {
              const text = `${l.time ?? '-'} ${d.name} ${l.stream}: ${redactor(l.text)}\n`;
              if (bytes + Buffer.byteLength(text) > cap) {
                truncated = true;
                break;
              }
              bytes += Buffer.byteLength(text);
              lines++;
              // Back-pressure: a slow disk must not make the whole log sit in memory.
              if (!out.write(text)) await once(out, 'drain');
            }
          } catch (err) {
            if (!(err instanceof LogsUnavailableError)) throw err;
            unavailable.push(`${err.reason} (${d.name})`);
            out.write(`# ${d.name}: logs unavailable: ${err.reason}\n`);
          }
          if (truncated) break;
        }
        if (truncated)
          out.write(
            `# truncated at ${cap} bytes (logs.exportMaxBytes); narrow the window with since/until\n`,
          );
      } finally {
        out.end();
        await once(out, 'close');
      }
      files.push({
        service,
        file,
        containers: details.map((d) => d.name),
        lines,
        bytes,
        truncated,
        logsUnavailable: unavailable.length ? unavailable.join('; ') : null,
      });
      ctx.progress({ progress: files.length, total: sources.length, message: `${service}: ${lines} lines` });
    }
    return { dir, files };
  },
});
