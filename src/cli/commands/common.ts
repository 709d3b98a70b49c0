import type { Command } from 'commander';

/** Options every command takes (design.md §14). */
export function common(cmd: Command): Command {
  return cmd
    .option(
      '-p, --project <name>',
      'Compose project (default: COMPOSE_PROJECT_NAME, then config, then clau-doom)',
    )
    .option('--json', 'print the structured result as JSON');
}
