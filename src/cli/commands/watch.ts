import type { Command } from 'commander';
import { type CommonOptions, num } from '../options.js';
import { common, runTool } from './common.js';

export function scheduleCommand(program: Command): void {
  common(
    program
      .command('schedule')
      .description('scheduled jobs (run by `doom-ops serve`): cron, next run, last run'),
  ).action(async (opts: CommonOptions) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/admin/schedule-status.js')).scheduleStatus,
        render: (await import('../../render/watch.js')).renderSchedule,
      }),
      {},
      opts,
    );
  });
}

export function incidentsCommand(program: Command): void {
  common(
    program
      .command('incidents')
      .description('incidents the watcher in `doom-ops serve` detected, newest first')
      .option('--open', 'only open incidents')
      .option('--limit <n>', 'newest N', '20'),
  ).action(async (opts: CommonOptions & { open?: boolean; limit: string }) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/health/recent-incidents.js')).recentIncidents,
        render: (await import('../../render/watch.js')).renderIncidents,
      }),
      { open: Boolean(opts.open), limit: num(opts.limit) },
      opts,
    );
  });
}
