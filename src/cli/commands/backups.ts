import type { Command } from 'commander';
import type { CommonOptions } from '../options.js';
import { common, runTool } from './common.js';

type Opts = CommonOptions & {
  yes?: boolean;
  target?: string;
  dryRun?: boolean;
  repository?: string;
  readData?: string;
  node?: string;
};

export function backupCommands(program: Command): void {
  common(
    program
      .command('backup')
      .description(
        'back up into the restic repository (and offsite ones): mongodb | opensearch | duckdb | volumes | full; exit 1 when PartiallyFailed, 2 when Failed',
      )
      .argument('[component]', 'what to back up', 'full'),
  ).action(async (component: string, opts: Opts) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/backup/backup.js')).backupTool,
        render: (await import('../../render/backups.js')).renderBackup,
      }),
      { component },
      opts,
      (o) => (o.phase === 'Completed' ? 0 : o.phase === 'PartiallyFailed' ? 1 : 2),
    );
  });

  common(
    program
      .command('backups')
      .description('list backups, newest first, with their phase')
      .option('--repository <name>', 'local (default), an offsite repository name, or legacy'),
  ).action(async (opts: Opts) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/backup/list-backups.js')).listBackups,
        render: (await import('../../render/backups.js')).renderBackups,
      }),
      { repository: opts.repository },
      opts,
    );
  });

  common(
    program
      .command('verify')
      .description(
        'read a backup back and check it (checksums, archives, DuckDB, snapshot), then restic check',
      )
      .argument('<id>', 'backup id')
      .option(
        '--repository <name>',
        'local (default: local, then offsite ones), an offsite repository name, or legacy',
      )
      .option('--read-data <share>', 'also read this share of the data packs back: 10%, 1/5, 500M'),
  ).action(async (id: string, opts: Opts) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/backup/verify-backup.js')).verifyBackup,
        render: (await import('../../render/backups.js')).renderVerify,
      }),
      { id, repository: opts.repository, readData: opts.readData },
      opts,
      (o) => (o.ok ? 0 : 1),
    );
  });

  common(
    program
      .command('restore')
      .description(
        'restore one component from a verified backup (destructive: shows the plan and asks; safety backup first); with no arguments, complete an interrupted restore',
      )
      .argument('[component]', 'mongodb | opensearch | duckdb | volumes')
      .argument('[id]', 'backup id')
      .option('--target <name>', 'only this volume key or agent container')
      .option(
        '--repository <name>',
        'read the backup from this repository (default: local, then offsite ones)',
      )
      .option(
        '--node <hostname>',
        "Swarm: restore volumes onto this node's copy (default: where it was backed up)",
      )
      .option('-y, --yes', 'approve the plan without the prompt'),
  ).action(async (component: string | undefined, id: string | undefined, opts: Opts) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/backup/restore.js')).restoreTool,
        render: (await import('../../render/backups.js')).renderRestore,
      }),
      { component, id, target: opts.target, repository: opts.repository, node: opts.node },
      opts,
    );
  });

  common(
    program
      .command('prune')
      .description(
        'remove backups outside the retention policy, per component and target (7 daily, 4 weekly by default), then restic prune',
      )
      .option('--dry-run', 'only show what would be deleted')
      .option('-y, --yes', 'approve the deletion without the prompt'),
  ).action(async (opts: Opts) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/backup/prune-backups.js')).pruneBackups,
        render: (await import('../../render/backups.js')).renderPrune,
      }),
      { dryRun: Boolean(opts.dryRun) },
      opts,
    );
  });

  common(
    program
      .command('drill')
      .description(
        'restore a backup (default: the newest) into a scratch project and check it; never touches the live stack; exit 1 when not restorable',
      )
      .argument('[id]', 'backup id')
      .option('--repository <name>', 'local (default) or an offsite repository name'),
  ).action(async (id: string | undefined, opts: Opts) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/backup/drill-backup.js')).drillBackup,
        render: (await import('../../render/backups.js')).renderDrill,
      }),
      { id, repository: opts.repository },
      opts,
      (o) => (o.restorable ? 0 : 1),
    );
  });
}
