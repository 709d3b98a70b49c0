#!/usr/bin/env node
import { Command } from 'commander';
import { approvalCommands } from './commands/approvals.js';
import { askCommand } from './commands/ask.js';
import { backupCommands } from './commands/backups.js';
import { demoCommand } from './commands/demo.js';
import { lintCommand, oomCommand, runbookCommands, whyCommand } from './commands/diagnosis.js';
import { downCommand, healthCommand, smokeCommand, upCommand } from './commands/health.js';
import { exportLogsCommand, logReportCommand, logsCommand } from './commands/logs.js';
import { mcpCommand } from './commands/mcp.js';
import { mutationCommands, updateCommand } from './commands/mutations.js';
import { recordCommand } from './commands/record.js';
import { serveCommand } from './commands/serve.js';
import { statsCommand } from './commands/stats.js';
import { incidentsCommand, scheduleCommand } from './commands/watch.js';
import { EXIT } from './options.js';

// Start-up loads commander and the command definitions only (`--version` and `--help` need no
// more); each command's action loads its tool, renderer and the runtime (config, engine client).

// Last line of defence: a bug outside any awaited promise (a stream 'error' nobody listens to, a
// rejection nobody handles) ends as one line with a reference, its stack in <stateDir>/errors.log,
// exit 2; never node's stack trace on the terminal.
let dying = false;
const fatal = (err: unknown): void => {
  if (dying) return;
  dying = true;
  import('./internal-error.js')
    .then(({ recordInternalError }) => recordInternalError(err))
    .catch(() => `internal error: ${err instanceof Error ? err.message : String(err)}`)
    .then((line) => {
      process.stderr.write(`doom-ops: ${line}\n`);
      process.exit(EXIT.error);
    });
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

const program = new Command('doom-ops')
  .description('day-2 operations for the clau-doom Docker Compose stack')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride((err) => {
    // Usage errors (unknown option, missing argument) are "could not run", not "check failed".
    process.exit(err.exitCode === 0 ? 0 : EXIT.error);
  });

healthCommand(program);
smokeCommand(program);
upCommand(program);
downCommand(program);
updateCommand(program);
statsCommand(program);
logsCommand(program);
logReportCommand(program);
exportLogsCommand(program);
whyCommand(program);
oomCommand(program);
lintCommand(program);
askCommand(program);
incidentsCommand(program);
scheduleCommand(program);
runbookCommands(program);
mutationCommands(program);
backupCommands(program);
approvalCommands(program);
mcpCommand(program);
serveCommand(program);
recordCommand(program);
demoCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // An action that let an error escape (each should report its own): same one-line report.
  const { reportError } = await import('./runtime.js');
  process.exitCode = reportError(err, { json: process.argv.includes('--json') });
}
