import type { Command } from 'commander';
import { backupTool } from '../../tools/backup.js';
import { listBackups } from '../../tools/list-backups.js';
import { pruneBackups } from '../../tools/prune-backups.js';
import { restoreTool } from '../../tools/restore.js';
import { verifyBackup } from '../../tools/verify-backup.js';
import { formatBytes } from '../../util/duration.js';
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
    process.exitCode = await runToolCommand(backupTool, { component }, opts, (o) =>
      [
        `backup ${o.id} (${o.kind}) written and verified in ${(o.durationMs / 1000).toFixed(1)}s: ${o.dir}`,
        ...o.components.map(
          (c) =>
            `  ${c.component.padEnd(10)} ${c.target.padEnd(28)} ${formatBytes(c.bytes).padStart(8)}  ${c.sha256?.slice(0, 16) ?? '(snapshot)'}`,
        ),
        ...o.skipped.map((s) => `  skipped: ${s}`),
      ].join('\n'),
    );
  });

  common(program.command('backups').description('list backups, newest first')).action(async (opts: Opts) => {
    process.exitCode = await runToolCommand(listBackups, {}, opts, (o) =>
      o.backups.length
        ? o.backups
            .map(
              (b) =>
                `${b.id.padEnd(34)} ${b.state.padEnd(10)} ${(b.reason ?? '').padEnd(11)} ${formatBytes(b.bytes).padStart(8)}  verified: ${b.verified === null ? '-' : b.verified ? 'ok' : 'FAILED'}  ${b.components.join(' ')}`,
            )
            .join('\n')
        : `no backups in ${o.dir}`,
    );
  });

  common(
    program
      .command('verify')
      .description('re-check a backup: checksums, archives, DuckDB, snapshot')
      .argument('<id>', 'backup id'),
  ).action(async (id: string, opts: Opts) => {
    process.exitCode = await runToolCommand(
      verifyBackup,
      { id },
      opts,
      (o) =>
        [
          `backup ${o.id}: ${o.ok ? 'OK' : 'FAILED'}`,
          ...o.checks.map((c) => `  ${c.ok ? 'ok    ' : 'FAILED'} ${c.component}:${c.target} ${c.detail}`),
        ].join('\n'),
      (o) => (o.ok ? 0 : 1),
    );
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
    process.exitCode = await runToolCommand(restoreTool, { component, id, target: opts.target }, opts, (o) =>
      [
        `restored ${o.component} from ${o.id} in ${(o.durationMs / 1000).toFixed(1)}s (safety backup: ${o.safetyBackup})`,
        ...o.restored.map((r) => `  ${r.target}: ${JSON.stringify(r.result)}`),
      ].join('\n'),
    );
  });

  common(
    program
      .command('prune')
      .description('delete backups outside the retention policy (7 daily, 4 weekly by default)')
      .option('--dry-run', 'only show what would be deleted')
      .option('-y, --yes', 'approve the deletion without the prompt'),
  ).action(async (opts: Opts) => {
    process.exitCode = await runToolCommand(pruneBackups, { dryRun: Boolean(opts.dryRun) }, opts, (o) =>
      [
        `${o.deleted ? 'deleted' : 'would delete'} ${o.remove.length}, keep ${o.keep.length} (${o.policy.daily} daily, ${o.policy.weekly} weekly)`,
        ...o.keep.map((k) => `  keep   ${k.id}  ${k.keptBy.join(', ')}`),
        ...o.remove.map((r) => `  ${o.deleted ? 'deleted' : 'delete '} ${r.id}`),
      ].join('\n'),
    );
  });
}
