import type { Command } from 'commander';
import type { z } from 'zod';
import type { AnyTool } from '../../tools/define-tool.js';
import type { CommonOptions } from '../options.js';

/**
 * Command modules define their commands for commander (names, arguments, options: all `--help`
 * needs) and import nothing heavy at the top: the tool, its renderer and the CLI runtime are loaded
 * by the action, so each run loads only the tool it runs.
 */

/** Options every command takes (design.md §14). */
export function common(cmd: Command): Command {
  return cmd
    .option(
      '-p, --project <name>',
      'Compose project (default: COMPOSE_PROJECT_NAME, then config, then clau-doom)',
    )
    .option('--json', 'print the structured result as JSON');
}

/** A tool and how the terminal shows its output, loaded when the command runs. */
export interface LoadedTool<T extends AnyTool> {
  tool: T;
  render: (out: z.output<T['output']>) => string;
}

/**
 * Runs a tool for a command (runToolCommand in ../runtime.ts): `load` imports the tool's module
 * and its renderer now, with the runtime beside them.
 */
export async function runTool<T extends AnyTool>(
  load: () => Promise<LoadedTool<T>>,
  input: Record<string, unknown>,
  opts: CommonOptions,
  exitFor?: (out: z.output<T['output']>) => number,
): Promise<number> {
  const [{ runToolCommand }, { tool, render }] = await Promise.all([import('../runtime.js'), load()]);
  return runToolCommand(tool, input, opts, render, exitFor);
}
