import type { Command } from 'commander';
import { EXIT } from '../options.js';

export function mcpCommand(program: Command): void {
  program
    .command('mcp')
    .description(
      'serve the tools over MCP on stdio (for Claude Code: `claude mcp add doom-ops -- doom-ops mcp`)',
    )
    .option(
      '-p, --project <name>',
      'Compose project (default: COMPOSE_PROJECT_NAME, then config, then clau-doom)',
    )
    .option(
      '--toolsets <names>',
      `toolsets tools/list shows at first, comma-separated, or all (default: config mcp.toolsets)`,
    )
    .option('--output-schemas', 'advertise every output schema in tools/list (config mcp.outputSchemas)')
    .action(async (opts: { project?: string; toolsets?: string; outputSchemas?: boolean }) => {
      const { cliUser, reportError, surfaceDeps } = await import('../runtime.js');
      try {
        const { serveStdio } = await import('../../mcp/stdio.js');
        await serveStdio(
          surfaceDeps(opts, {
            id: `mcp:stdio:${cliUser()}`,
            surface: 'mcp',
            transport: 'stdio',
            display: cliUser(),
          }),
        );
        process.exitCode = EXIT.ok;
      } catch (err) {
        process.exitCode = reportError(err, {});
      }
    });
}
