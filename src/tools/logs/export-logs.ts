import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { fileSystemError } from '../../util/fs-errors.js';
import { defineTool } from '../define-tool.js';
import { containerLogs, LogsUnavailableError } from '../lib/container-logs.js';
import { serviceField, timePoint } from '../lib/fields.js';
import { logWindow, serviceLogSources } from '../lib/log-sources.js';

const EXPORT_TIMEOUT_MS = 30 * 60_000;

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '_');
}

/**
 * Creates `<dir>/<base>.log` exclusively, or `<base>_2.log`, `<base>_3.log`, … when that name is
 * taken (names have one-second resolution: two exports within a second, or a file left by another
 * process). Never opens an existing file, so nothing is overwritten or appended to.
 */
async function createUnique(dir: string, base: string): Promise<{ file: string; handle: FileHandle }> {
  for (let n = 1; ; n++) {
    const file = join(dir, n === 1 ? `${base}.log` : `${base}_${n}.log`);
    try {
      return { file, handle: await open(file, 'wx', 0o600) };
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST' || n >= 1000) throw err;
    }
  }
}

export const exportLogs = defineTool({
  name: 'export_logs',
  title: 'Export logs to files',
  description:
    "The handbook's log aggregation (scripts/aggregate_logs.sh) without its pitfalls: each service's logs over a window " +
    'are streamed to <logs.exportDir>/<service>_<YYYYMMDD_HHMMSS>.log (_2, _3, … when that name is taken; nothing is overwritten), one line per log line with its timestamp, ' +
    'container and stream, secrets redacted, each file capped (logs.exportMaxBytes; the cut is written at the end). ' +
    'Returns the files with line and byte counts.',
  summary:
    "Use to save services' logs over a time window to files. Writes one redacted, size-capped file per " +
    'service and returns the files with line and byte counts.',
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
    const fsContext = (what: string) => ({ what, dir, setting: 'logs.exportDir' });
    await mkdir(dir, { recursive: true }).catch(async (err) => {
      throw await fileSystemError(err, fsContext('create the export directory'));
    });
    const cap = ctx.config.logs.exportMaxBytes;
    const sources = await serviceLogSources(ctx, input.services);
    const ts = stamp();
    const files = [];
    for (const { service, details, redactor } of sources) {
      const { file, handle } = await createUnique(dir, `${service}_${ts}`).catch(async (err) => {
        throw await fileSystemError(err, fsContext(`create the export file of ${service}`));
      });
      let bytes = 0;
      let lines = 0;
      let truncated = false;
      const unavailable: string[] = [];
      async function* text(): AsyncGenerator<string> {
        for (const d of details) {
          try {
            // Streaming to disk may take long; the caller's signal still cancels it.
            for await (const l of containerLogs(ctx, d, { since, until, timeoutMs: EXPORT_TIMEOUT_MS })) {
              const line = `${l.time ?? '-'} ${d.name} ${l.stream}: ${redactor(l.text)}\n`;
              if (bytes + Buffer.byteLength(line) > cap) {
                truncated = true;
                break;
              }
              bytes += Buffer.byteLength(line);
              lines++;
              yield line;
            }
          } catch (err) {
            if (!(err instanceof LogsUnavailableError)) throw err;
            unavailable.push(`${err.reason} (${d.name})`);
            yield `# ${d.name}: logs unavailable: ${err.reason}\n`;
          }
          if (truncated) break;
        }
        if (truncated)
          yield `# truncated at ${cap} bytes (logs.exportMaxBytes); narrow the window with since/until\n`;
      }
      try {
        // pipeline: back-pressure (a slow disk must not make the whole log sit in memory), and a
        // write error (a full disk) rejects here instead of going unhandled.
        await pipeline(text, handle.createWriteStream());
      } catch (err) {
        // A cut-short file would pass for the whole log: remove it, say why.
        await handle.close().catch(() => undefined);
        await rm(file, { force: true });
        throw await fileSystemError(err, fsContext(`write ${file}`));
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
