import type { z } from 'zod';
import type { Plan } from '../safety/approvals.js';
import type { Risk } from '../safety/principal.js';
import type { ToolContext } from './context.js';

export type { Risk } from '../safety/principal.js';

/**
 * One tool, one shape (design.md §3). `input` is a flat zod object whose fields all carry a
 * description; `output` is what `run` returns, parsed before it leaves the registry.
 */
export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  /** Written for a model: when to use it, what it returns, what to call first. */
  description: string;
  /**
   * One or two sentences on when to use it: what MCP's tools/list carries (the full description
   * is in the CLI help, the README and the doom-ops://tools resource).
   */
  summary?: string;
  risk: Risk;
  /** Same input always gives the same effect (MCP idempotentHint). */
  idempotent: boolean;
  input: I;
  output: O;
  run(ctx: ToolContext, input: z.output<I>): Promise<z.output<O>>;
  /**
   * How long a call waits for the stack lock while another change holds it (default 0: refused
   * as busy at once). Backups queue this way instead of failing.
   */
  lockWaitMs?: number;
  /**
   * Risk of this particular call when it depends on the input or on the stack now (a scale-down of
   * a stateful service is destructive). Tools that can answer destructive say so in `mayDestroy`.
   */
  effectiveRisk?(input: z.output<I>, ctx: ToolContext): Risk | Promise<Risk>;
  /** Some calls of this tool are destructive (see effectiveRisk): MCP's destructiveHint says so. */
  mayDestroy?: boolean;
  /**
   * A composite tool: it calls other tools through `ctx.tools` (toolNamed). The CLI loads one tool
   * per command and gives the registry only to tools marked so (a unit test keeps this in step
   * with the source).
   */
  callsTools?: boolean;
  /**
   * The stack kinds this tool works on (default compose only). On a Swarm stack a tool without
   * `swarm` is refused with the reason rather than answering from the Compose containers it would
   * not find. Tools that never read the stack (repositories, approvals, files) and composite tools
   * (whose own calls are checked) list both.
   */
  stackKinds?: ReadonlyArray<'compose' | 'swarm'>;
  /**
   * A read whose result depends on who asks (their role or identity): identical calls by
   * different callers are never shared (ToolRunner's single flight).
   */
  perCaller?: boolean;
  /**
   * The exact steps a destructive call would take, shown to the human who approves it and built
   * again just before execution: a changed fingerprint means the plan went stale.
   */
  plan?(ctx: ToolContext, input: z.output<I>): Promise<Plan>;
}

/** The tools a surface serves, by name: how composite tools reach other tools. */
export function toolNamed(ctx: ToolContext, name: string): AnyTool {
  const tool = ctx.tools.find((t) => t.name === name);
  if (!tool) throw new Error(`tool ${name} is not served here`);
  return tool;
}

/** Identity helper so each tool file gets full inference from its schemas. */
export function defineTool<I extends z.ZodObject, O extends z.ZodType>(
  def: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return def;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds tools of every schema
export type AnyTool = ToolDefinition<any, any>;
