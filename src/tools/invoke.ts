import type { z } from 'zod';
import { ToolError } from '../errors.js';
import type { ToolContext } from './context.js';
import type { AnyTool } from './define-tool.js';

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
 * The one way every surface runs a tool: validate input (nothing runs on bad input), run, then
 * check the output against the advertised schema so callers can trust structured results.
 */
export async function invokeTool<T extends AnyTool>(
  tool: T,
  ctx: ToolContext,
  raw: unknown,
): Promise<z.output<T['output']>> {
  const input = parseInput(tool, raw);
  if (ctx.signal.aborted) throw new ToolError('cancelled', `${tool.name}: cancelled before it started`);
  const result = await tool.run(ctx, input);
  const checked = tool.output.safeParse(result);
  if (!checked.success) {
    // A programming error, not a user one: surfaces log it and show a reference id.
    throw new Error(
      `${tool.name} produced output that does not match its schema: ${describeIssues(checked.error.issues)}`,
    );
  }
  return checked.data;
}
