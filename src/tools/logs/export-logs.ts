import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { LogLine } from '../../adapters/docker/types.js';
import { SwarmAdapter } from '../../adapters/swarm/client.js';
import type { Redactor } from '../../safety/redact.js';
import { fileSystemError } from '../../util/fs-errors.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { containerLogs, LogsUnavailableError, swarmServiceLogs } from '../lib/container-logs.js';
import { serviceField, timePoint } from '../lib/fields.js';
import { logWindow, serviceLogSources } from '../lib/log-sources.js';
import { projectRedactor } from '../lib/secrets.js';
import { stackKind } from '../lib/stack-kind.js';
import { taskLabel } from '../lib/swarm-health.js';

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
  stackKinds: ['compose', 'swarm'],
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
    const sources = await exportSources(ctx, input.services, { since, until });
    const ts = stamp();
    const files = [];
    for (const { service, containers, redactor, read } of sources) {
      const { file, handle } = await createUnique(dir, `${service}_${ts}`).catch(async (err) => {
        throw await fileSystemError(err, fsContext(`create the export file of ${service}`));
      });
      let bytes = 0;
      let lines = 0;
      let truncated = false;
      const unavailable: string[] = [];
      async function* text(): AsyncGenerator<string> {
        for (const part of read()) {
          try {
            // Streaming to disk may take long; the caller's signal still cancels it.
            for await (const { name, line: l } of part.lines()) {
              const line = `${l.time ?? '-'} ${name} ${l.stream}: ${redactor(l.text)}\n`;
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
            unavailable.push(`${err.reason} (${part.name})`);
            yield `# ${part.name}: logs unavailable: ${err.reason}\n`;
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
        containers,
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

/** One service's export: what it covers, its redactor, and its log parts read one after the other. */
interface ExportSource {
  service: string;
  containers: string[];
  redactor: Redactor;
  read(): Array<{ name: string; lines(): AsyncIterable<{ name: string; line: LogLine }> }>;
}

/**
 * What export_logs writes per service: on Compose each replica's log in turn; on Swarm the
 * service's one log stream from a manager, each line naming its task and node.
 */
async function exportSources(
  ctx: ToolContext,
  services: string[] | undefined,
  window: { since: number; until: number | undefined },
): Promise<ExportSource[]> {
  const opts = { since: window.since, until: window.until, timeoutMs: EXPORT_TIMEOUT_MS };
  if ((await stackKind(ctx)) === 'swarm') {
    const swarm = new SwarmAdapter(ctx.docker);
    const [all, nodes] = await Promise.all([
      swarm.services(ctx.project, ctx.signal),
      swarm.nodes(ctx.signal),
    ]);
    const wanted = services
      ? await Promise.all(services.map((n) => swarm.service(ctx.project, n, ctx.signal)))
      : all;
    const redactor = await projectRedactor(ctx);
    const out: ExportSource[] = [];
    for (const svc of wanted) {
      const tasks = await swarm.tasks([svc.name], ctx.signal);
      const taskName = (id: string | undefined) => {
        const t = tasks.find((x) => x.id === id);
        return t ? taskLabel(svc.name, t, nodes) : svc.name;
      };
      out.push({
        service: svc.service,
        containers: [svc.name],
        redactor,
        read: () => [
          {
            name: svc.name,
            async *lines() {
              for await (const line of swarmServiceLogs(ctx, svc, opts))
                yield { name: taskName(line.task), line };
            },
          },
        ],
      });
    }
    return out;
  }
  return (await serviceLogSources(ctx, services)).map(({ service, details, redactor }) => ({
    service,
    containers: details.map((d) => d.name),
    redactor,
    read: () =>
      details.map((d) => ({
        name: d.name,
        async *lines() {
          for await (const line of containerLogs(ctx, d, opts)) yield { name: d.name, line };
        },
      })),
  }));
}
