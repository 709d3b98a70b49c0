import type { Command } from 'commander';

export const DEMO_PROJECT = 'clau-doom-demo';

/**
 * The quick-start: brings up the clau-doom-shaped test stack on the local engine (its orchestrator
 * OOMs until on-failure:5 gives up, as in the handbook's OOM section), then runs health, stats and
 * logs against it, so a newcomer sees what on-call would see. The work lives in demo-run.ts, loaded
 * only when the command runs (it pulls in execa, which other commands do not need).
 */
export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description(`start a demo stack (project ${DEMO_PROJECT}) on the local engine and inspect it`)
    .option('-p, --project <name>', 'project name for the demo stack', DEMO_PROJECT)
    .option('--down', 'remove the demo stack (containers, networks, volumes) instead')
    .action(async (opts: { project: string; down?: boolean }) => {
      const { runDemo } = await import('./demo-run.js');
      process.exitCode = await runDemo(opts);
    });
}
