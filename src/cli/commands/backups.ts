import type { Command } from 'commander';
import {
  renderBackup,
  renderBackups,
  renderPrune,
  renderRestore,
  renderVerify,
} from '../../render/backups.js';
import { backupTool } from '../../tools/backup.js';
import { listBackups } from '../../tools/list-backups.js';
import { pruneBackups } from '../../tools/prune-backups.js';
import { restoreTool } from '../../tools/restore.js';
import { verifyBackup } from '../../tools/verify-backup.js';
import { type CommonOptions, runToolCommand } from '../runtime.js';
import { common } from './common.js';

type Opts = CommonOptions & { yes?: boolean; target?: string; dryRun?: boolean };

export function backupCommands(program: Command): void {
  common(
    program
      .command('backup')
      .description('write a verified, checksummed backup: mongodb | opensearch | duckdb | volumes | full')
      .argument('[component]', 'what to back up', 'full'),
  ).action(async (component: string, opts: Opts) => {
    process.exitCode = await runToolCommand(backupTool, { component }, opts, renderBackup);
  });

  common(program.command('backups').description('list backups, newest first')).action(async (opts: Opts) => {
    process.exitCode = await runToolCommand(listBackups, {}, opts, renderBackups);
  });

  common(
    program
      .command('verify')
      .description('re-check a backup: checksums, archives, DuckDB, snapshot')
      .argument('<id>', 'backup id'),
  ).action(async (id: string, opts: Opts) => {
    process.exitCode = await runToolCommand(verifyBackup, { id }, opts, renderVerify, (o) => (o.ok ? 0 : 1));
  });

  common(
    program
      .command('restore')
      .description(
        'restore one component from a verified backup (destructive: shows the plan and asks; safety backup first)',
      )
      .argument('<component>', 'mongodb | opensearch | duckdb | volumes')
      .argument('<id>', 'backup id')
      .option('--target <name>', 'only this volume key or agent container')
      .option('-y, --yes', 'approve the plan without the prompt'),
  ).action(async (component: string, id: string, opts: Opts) => {
    process.exitCode = await runToolCommand(
      restoreTool,
      { component, id, target: opts.target },
      opts,
      renderRestore,
    );
  });

  common(
    program
      .command('prune')
      .description('delete backups outside the retention policy (7 daily, 4 weekly by default)')
      .option('--dry-run', 'only show what would be deleted')
      .option('-y, --yes', 'approve the deletion without the prompt'),
  ).action(async (opts: Opts) => {
    process.exitCode = await runToolCommand(
      pruneBackups,
      { dryRun: Boolean(opts.dryRun) },
      opts,
      renderPrune,
    );
  });
}
