import type { Command } from 'commander';
import { type CommonOptions, num } from '../options.js';
import { common, runTool } from './common.js';

interface LogsOptions extends CommonOptions {
  tail?: string;
  since?: string;
  until?: string;
  grep?: string;
  level?: string;
  replica?: string;
  maxBytes?: string;
}

export function logsCommand(program: Command): void {
  common(
    program
      .command('logs')
      .description('recent log lines of a service, secrets redacted')
      .argument('<service>', 'Compose service name')
      .option('-n, --tail <n>', 'newest N matching lines (default 100)')
      .option('--since <when>', 'start of window: 10m, 2h, RFC 3339 or unix seconds')
      .option('--until <when>', 'end of window, same forms')
      .option('--grep <text>', 'only lines containing text (case-insensitive)')
      .option('--level <level>', 'minimum level: trace, debug, info, warn, error, fatal')
      .option('--replica <n>', 'only this replica number')
      .option('--max-bytes <n>', 'cap on returned text'),
  ).action(async (service: string, opts: LogsOptions) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/logs/service-logs.js')).serviceLogs,
        render: (await import('../../render/logs.js')).renderLogs,
      }),
      {
        service,
        tail: num(opts.tail),
        since: opts.since,
        until: opts.until,
        grep: opts.grep,
        level: opts.level,
        replica: num(opts.replica),
        maxBytes: num(opts.maxBytes),
      },
      opts,
      // Exit 1 when no replica's logs could be read (logging driver none…): the answer says why.
      (o) => (o.unavailable.length > 0 && o.unavailable.length === o.containers.length ? 1 : 0),
    );
  });
}

export function logReportCommand(program: Command): void {
  common(
    program
      .command('log-report')
      .description('errors by message, first/last seen and latency percentiles over a window, per service')
      .argument('[services...]', 'services (default: all with containers)')
      .option('--since <when>', 'window start (default 1h)')
      .option('--until <when>', 'window end')
      .option('--latency-field <name>', 'JSON latency field (default latency_ms)')
      .option('--top <n>', 'top messages per service (default 10)', (v) => num(v)),
  ).action(
    async (
      services: string[],
      opts: CommonOptions & { since?: string; until?: string; latencyField?: string; top?: number },
    ) => {
      process.exitCode = await runTool(
        async () => ({
          tool: (await import('../../tools/logs/log-report.js')).logReport,
          render: (await import('../../render/log-report.js')).renderLogReport,
        }),
        {
          services: services.length ? services : undefined,
          since: opts.since,
          until: opts.until,
          latencyField: opts.latencyField,
          top: opts.top,
        },
        opts,
      );
    },
  );
}

export function exportLogsCommand(program: Command): void {
  common(
    program
      .command('export-logs')
      .description(
        "stream each service's logs over a window to <logs.exportDir>/<service>_<timestamp>.log (redacted, size-capped)",
      )
      .argument('[services...]', 'services (default: all with containers)')
      .option('--since <when>', 'window start (default 24h)')
      .option('--until <when>', 'window end'),
  ).action(async (services: string[], opts: CommonOptions & { since?: string; until?: string }) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/logs/export-logs.js')).exportLogs,
        render: (await import('../../render/log-report.js')).renderExportLogs,
      }),
      { services: services.length ? services : undefined, since: opts.since, until: opts.until },
      opts,
    );
  });
}
