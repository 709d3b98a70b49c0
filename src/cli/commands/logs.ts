import type { Command } from 'commander';
import { renderLogs } from '../../render/logs.js';
import { serviceLogs } from '../../tools/service-logs.js';
import { type CommonOptions, num, runToolCommand } from '../runtime.js';
import { common } from './common.js';

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
    process.exitCode = await runToolCommand(
      serviceLogs,
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
      renderLogs,
    );
  });
}
