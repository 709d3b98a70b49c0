import type { Command } from 'commander';

export function recordCommand(program: Command): void {
  program
    .command('record')
    .description(
      "record the project's container events (deaths, OOM kills, restarts, health changes) under the state dir until stopped; doom-ops serve does this too",
    )
    .option(
      '-p, --project <name>',
      'Compose project (default: COMPOSE_PROJECT_NAME, then config, then clau-doom)',
    )
    .action(async (opts: { project?: string }) => {
      const [{ ToolError }, { createLogger }, { startRecorder }, { reportError, surfaceDeps }] =
        await Promise.all([
          import('../../errors.js'),
          import('../../logger.js'),
          import('../../recorder/start.js'),
          import('../runtime.js'),
        ]);
      const logger = createLogger(process.env.DOOM_OPS_LOG_LEVEL ?? 'info');
      try {
        const deps = {
          ...surfaceDeps(opts, { id: 'internal:recorder', surface: 'internal' as const }),
          logger,
        };
        const recorder = await startRecorder(deps);
        if (!recorder)
          throw new ToolError(
            'conflict',
            `another doom-ops process already records project ${deps.config.project}`,
            {
              hint: 'one recorder per project is enough (doom-ops serve records too)',
            },
          );
        process.stderr.write(`doom-ops: recording engine events of project ${deps.config.project}\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await recorder.stop();
      } catch (err) {
        process.exitCode = reportError(err, {}, logger);
      }
    });
}
