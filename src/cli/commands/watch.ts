import type { Command } from 'commander';
import { renderIncidents, renderSchedule } from '../../render/watch.js';
import { scheduleStatus } from '../../tools/admin/schedule-status.js';
import { recentIncidents } from '../../tools/health/recent-incidents.js';
import { type CommonOptions, num, runToolCommand } from '../runtime.js';
import { common } from './common.js';

export function scheduleCommand(program: Command): void {
  common(
    program
      .command('schedule')
      .description('scheduled jobs (run by `doom-ops serve`): cron, next run, last run'),
  ).action(async (opts: CommonOptions) => {
    process.exitCode = await runToolCommand(scheduleStatus, {}, opts, renderSchedule);
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
    process.exitCode = await runToolCommand(
      recentIncidents,
      { open: Boolean(opts.open), limit: num(opts.limit) },
      opts,
      renderIncidents,
    );
  });
}
