import { userInfo } from 'node:os';
import type { z } from 'zod';
import { DockerAdapter } from '../adapters/docker/client.js';
import { loadConfig } from '../config/load.js';
import { isToolError, ToolError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import type { McpDeps } from '../mcp/server.js';
import { createSafety } from '../safety/index.js';
import type { Principal, ToolContext } from '../tools/context.js';
import type { AnyTool } from '../tools/define-tool.js';
import { invokeTool } from '../tools/invoke.js';
import { systemFileError } from '../util/fs-errors.js';
import { cliApprover } from './approver.js';
import { recordInternalError, stateDir } from './internal-error.js';
import { type CommonOptions, EXIT, NotAnInteger } from './options.js';

/** What a long-running surface (MCP, later Slack) needs: config, engine adapter, logger. */
/**
 * What the MCP surfaces need; `mcp` options (--toolsets, --output-schemas) override config
 * `mcp.*` for this process.
 */
export function surfaceDeps(
  opts: CommonOptions & { toolsets?: string; outputSchemas?: boolean },
  principal: Principal,
): McpDeps {
  const loaded = loadConfig({ project: opts.project });
  const config = {
    ...loaded,
    mcp: {
      ...loaded.mcp,
      ...(opts.toolsets ? { toolsets: opts.toolsets.split(',').map((t) => t.trim()) } : {}),
      ...(opts.outputSchemas ? { outputSchemas: true } : {}),
    },
  };
  return {
    safety: createSafety(config),
    config,
    docker: new DockerAdapter({ timeoutMs: config.docker.timeout }),
    logger: createLogger(),
    principal,
  };
}

export function cliUser(): string {
  return safeUser();
}

/**
 * The context of one CLI command. `tools` is what composite tools call through (ctx.tools): only
 * they get the registry (runToolCommand gives it to tools marked `callsTools`), so a command loads
 * its own tool and not all of them.
 */
export function cliContext(
  opts: CommonOptions,
  signal: AbortSignal,
  logger: Logger,
  tools: readonly AnyTool[] = [],
): ToolContext {
  const config = loadConfig({ project: opts.project });
  return {
    safety: createSafety(config),
    docker: new DockerAdapter({ timeoutMs: config.docker.timeout }),
    config,
    project: config.project,
    principal: { id: `cli:${safeUser()}`, surface: 'cli', display: safeUser() },
    signal,
    approver: cliApprover(config, Boolean(opts.yes)),
    progress: (p) => {
      if (process.stderr.isTTY && !opts.json) {
        process.stderr.write(`\r\x1b[K${p.message ?? ''} ${p.total ? `${p.progress}/${p.total}` : ''}`);
        progressShown = true;
      }
    },
    logger,
    tools,
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Ctrl-C aborts the running tool cleanly instead of killing mid-stream. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  process.once('SIGTERM', () => controller.abort(new Error('terminated')));
  return controller.signal;
}

/**
 * Runs one tool for a CLI command: JSON or human output on stdout, errors on stderr (and as JSON
 * on stdout with --json), never a stack trace for an expected failure.
 */
export async function runToolCommand<T extends AnyTool>(
  tool: T,
  input: Record<string, unknown>,
  opts: CommonOptions,
  render: (out: z.output<T['output']>) => string,
  exitFor: (out: z.output<T['output']>) => number = () => EXIT.ok,
): Promise<number> {
  const logger = createLogger();
  try {
    refuseNotIntegers(tool.name, input);
    const tools = tool.callsTools ? (await import('../tools/registry.js')).registry : [];
    const ctx = cliContext(opts, interruptSignal(), logger, tools);
    const out = await invokeTool(tool, ctx, stripUndefined(input));
    clearProgress();
    process.stdout.write(`${opts.json ? JSON.stringify(out, null, 2) : render(out)}\n`);
    return exitFor(out);
  } catch (err) {
    return reportError(err, opts, logger);
  }
}

/**
 * Prints a failure and returns the exit code (2). A ToolError says what failed and what to do
 * next; anything else is a bug: one line with a reference and where the details are, the stack
 * going to `<stateDir>/errors.log`, never to the terminal. With --json the error is on stdout too.
 * `_logger` is kept for callers; internal errors are no longer logged to stderr.
 */
export function reportError(failure: unknown, opts: CommonOptions, _logger?: Logger): number {
  // A file-system failure no tool wrapped (a state directory that is a file, a full disk) is the
  // environment, not a bug: said as such, naming the path.
  const err = isToolError(failure) ? failure : (systemFileError(failure, stateDir()) ?? failure);
  clearProgress();
  if (isToolError(err)) {
    process.stderr.write(`doom-ops: ${err.message}\n${err.hint ? `  next: ${err.hint}\n` : ''}`);
    if (opts.json) process.stdout.write(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`);
    return EXIT.error;
  }
  const line = recordInternalError(err);
  process.stderr.write(`doom-ops: ${line}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify({ error: { code: 'internal', message: line } })}\n`);
  return EXIT.error;
}

/** A progress line left on the terminal (written with \r, no newline): nothing printed after it may join it. */
let progressShown = false;

/** Erases the progress line, if one is shown, before the answer or an error is printed. */
export function clearProgress(): void {
  if (!progressShown) return;
  progressShown = false;
  process.stderr.write('\r\x1b[K');
}

function stripUndefined(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

function refuseNotIntegers(tool: string, input: Record<string, unknown>): void {
  const bad = Object.entries(input).filter(([, v]) => v instanceof NotAnInteger) as Array<
    [string, NotAnInteger]
  >;
  if (bad.length)
    throw new ToolError(
      'invalid_input',
      `invalid input for ${tool}: ${bad.map(([k, v]) => `${k}: ${JSON.stringify(v.raw)} is not a whole number in decimal digits (no sign, exponent, hex or leading zero)`).join('; ')}`,
      { hint: 'give it as plain decimal digits, e.g. 3' },
    );
}
