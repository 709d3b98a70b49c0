import type { z } from 'zod';
import { isToolError, ToolError } from '../errors.js';
import { canonical } from '../safety/approver.js';
import { createRedactor, maskSecretsIn } from '../safety/redact.js';
import type { ToolContext } from './context.js';
import type { AnyTool, Risk } from './define-tool.js';
import { knownProjectSecrets, projectSecrets } from './lib/secrets.js';
import { stackKind } from './lib/stack-kind.js';
import { runMutation } from './mutate.js';

/** "tail: must be a positive number; service: required": every bad field, named. */
export function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`).join('; ');
}

export function parseInput<T extends AnyTool>(tool: T, raw: unknown): z.output<T['input']> {
  const parsed = tool.input.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ToolError(
      'invalid_input',
      `invalid input for ${tool.name}: ${describeIssues(parsed.error.issues)}`,
      {
        hint: `see \`doom-ops help\` or the ${tool.name} input schema`,
      },
    );
  }
  return parsed.data;
}

/**
 * The one way every surface runs a tool: validate input (nothing runs on bad input); read calls
 * run directly, every other call goes through runMutation (roles, approval, lock, audit); the
 * output is checked against the advertised schema so callers can trust structured results. Last,
 * every project secret the call came to know (lib/secrets.ts) is masked anywhere in the output or
 * in the ToolError it throws (so in the audit entry of a failed call too): a field a tool forgot to
 * redact still shows no secret.
 */
export async function invokeTool<T extends AnyTool>(
  tool: T,
  ctx: ToolContext,
  raw: unknown,
): Promise<z.output<T['output']>> {
  let input: z.output<T['input']>;
  try {
    input = parseInput(tool, raw);
  } catch (err) {
    // A write or destructive call refused for its input is a refused call: audited with the reason.
    if (tool.risk !== 'read' || tool.mayDestroy) await auditInvalidInput(tool, ctx, raw, err);
    throw err;
  }
  if (ctx.signal.aborted) throw new ToolError('cancelled', `${tool.name}: cancelled before it started`);
  await refuseOnSwarm(tool, ctx);
  const runWith = async (c: ToolContext): Promise<z.output<T['output']>> => {
    let result: unknown;
    try {
      const start = () => {
        c.onStart?.();
        return tool.run(c, input);
      };
      // With a runner (serve), a read waits for a worker; the calls a tool makes itself (composite
      // tools) run inside that worker (the runner knows), so a full pool never waits on itself.
      result = c.runner ? await c.runner.run(tool.name, c.signal, start) : await start();
    } catch (err) {
      throw withoutSecrets(err, knownProjectSecrets(c));
    }
    const checked = tool.output.safeParse(result);
    if (!checked.success) {
      // A programming error, not a user one: surfaces log it and show a reference id.
      throw new Error(
        `${tool.name} produced output that does not match its schema: ${describeIssues(checked.error.issues)}`,
      );
    }
    return maskSecretsIn(checked.data, knownProjectSecrets(c));
  };
  const risk = await effectiveRisk(tool, input, ctx);
  if (risk !== 'read') {
    // A change is serialized by the stack lock, not the worker pool (a queued change would hold
    // the lock while it waits), and it, and every call it makes, reads the engine itself: no
    // shared reads, no state cache. Reads after it do not join a run that started before it.
    const runner = ctx.runner;
    const m: ToolContext =
      runner || ctx.docker.cachesState
        ? { ...ctx, runner: undefined, docker: ctx.docker.withoutStateCache() }
        : ctx;
    // What the change does may reach the event stream after it returns: nothing held from before
    // or during it is served after it.
    const cached = ctx.docker.cachesState;
    if (cached) ctx.docker.forgetState();
    return runMutation(tool, m, input, risk, () => runWith(m)).finally(() => {
      if (cached) ctx.docker.forgetState();
      runner?.advance();
    });
  }
  const runner = ctx.runner;
  if (!runner || tool.perCaller || runner.insideWorker) return runWith(ctx);
  // Identical concurrent reads of one stack share one run (single flight).
  const key = runner.flightKey(`${ctx.project}\n${tool.name}\n${canonical(input)}`);
  return runner.shared(key, ctx, (hooks) =>
    runWith({ ...ctx, signal: hooks.signal, progress: hooks.progress, onStart: hooks.onStart }),
  );
}

/** Inputs larger than this are recorded by size only (the audit log is not a data store). */
const MAX_AUDITED_INPUT = 8192;

async function auditInvalidInput(tool: AnyTool, ctx: ToolContext, raw: unknown, err: unknown): Promise<void> {
  await projectSecrets(ctx).catch(() => undefined); // so the audit log masks them in the input
  let size = 0;
  try {
    size = JSON.stringify(raw ?? {}).length;
  } catch {
    size = Number.POSITIVE_INFINITY;
  }
  ctx.safety.audit.append({
    event: 'refused',
    principal: ctx.principal.id,
    surface: ctx.principal.surface,
    ...(ctx.principal.channel ? { channel: ctx.principal.channel } : {}),
    tool: tool.name,
    input: size <= MAX_AUDITED_INPUT ? raw : `(not recorded: ${size} characters)`,
    outcome: (err as Error).message,
    project: ctx.project,
  });
}

/**
 * The same error with the given secrets masked in its message and hint, when it is a ToolError
 * (the one kind a user sees; its class and fields are kept, so it is edited in place).
 */
function withoutSecrets(err: unknown, secrets: readonly string[]): unknown {
  if (!isToolError(err) || secrets.length === 0) return err;
  const r = createRedactor(secrets, { patterns: false });
  const message = r(err.message);
  const hint = err.hint === undefined ? undefined : r(err.hint);
  if (r.count > 0) Object.assign(err, { message, hint });
  return err;
}

/** The risk of this call: the tool's own, or what it decides from the input and the stack now. */
export async function effectiveRisk<T extends AnyTool>(
  tool: T,
  input: z.output<T['input']>,
  ctx: ToolContext,
): Promise<Risk> {
  return (await tool.effectiveRisk?.(input, ctx)) ?? tool.risk;
}

/**
 * A Compose-only tool on a Swarm stack would find no Compose container and answer as if the
 * stack were empty: it is refused, saying so (ToolError invalid_input).
 */
async function refuseOnSwarm(tool: AnyTool, ctx: ToolContext): Promise<void> {
  if ((tool.stackKinds ?? ['compose']).includes('swarm')) return;
  if ((await stackKind(ctx)) !== 'swarm') return;
  throw new ToolError(
    'invalid_input',
    `${tool.name} does not work on a Swarm stack yet (it reads the Compose containers of ${ctx.project}, and a Swarm stack has none); nothing was done`,
    {
      hint: `on Swarm these work: ${ctx.tools
        .filter((t) => t.stackKinds?.includes('swarm'))
        .map((t) => t.name)
        .join(', ')} (README "Docker Swarm"); otherwise use docker service / docker stack on the manager`,
    },
  );
}
