import { z } from 'zod';
import { ToolError } from '../errors.js';
import type { AnyTool } from '../tools/define-tool.js';

/** Inputs that narrow a result, in the order a hint names them. */
const NARROWING = ['service', 'replica', 'since', 'until', 'tail', 'level', 'grep', 'limit', 'kind'];

/**
 * A tool's text result as an MCP client sees it: at most `budget` characters. A longer one is
 * cut at a line boundary and ends with what was left out and how to narrow the call (the tool's
 * own narrowing inputs), and that the whole result is in structuredContent.
 */
export function withinBudget(text: string, budget: number, tool: AnyTool): string {
  if (text.length <= budget) return text;
  const room = Math.max(0, budget - 300);
  const cut = text.lastIndexOf('\n', room);
  let kept = text.slice(0, cut > room / 2 ? cut : room);
  // Never half a character: a lone high surrogate is invalid in the JSON a client parses.
  if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
  const inputs = Object.keys((tool.input.shape as Record<string, unknown>) ?? {});
  const narrow = NARROWING.filter((k) => inputs.includes(k));
  const how = narrow.length ? `narrow the call with ${narrow.join(', ')}` : 'ask for less';
  return (
    `${kept}\n… cut: ${text.length - kept.length} of ${text.length} characters left out ` +
    `(mcp.textBudget ${budget}); ${how}, or call again with detail: "full". The full result is in structuredContent.`
  );
}

/**
 * The `detail` input MCP adds to every read tool (not part of the tool's own schema: CLI and Slack
 * print the whole text anyway): `concise` (default) keeps the text within mcp.textBudget, `full`
 * gives all of it.
 */
export const detailInput = z
  .enum(['concise', 'full'])
  .optional()
  .describe('concise (default): text cut at the text budget with a hint; full: the whole text');

type JsonSchema = { type: 'object'; properties?: Record<string, unknown>; [key: string]: unknown };
const detailJson = z.toJSONSchema(detailInput, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
const withDetailCache = new WeakMap<object, JsonSchema>();

/** A read tool's advertised input schema with `detail` added. */
export function withDetail(input: JsonSchema): JsonSchema {
  let out = withDetailCache.get(input);
  if (!out) {
    const { $schema: _, ...plain } = detailJson;
    out = { ...input, properties: { ...(input.properties ?? {}), detail: plain } };
    withDetailCache.set(input, out);
  }
  return out;
}

/**
 * Splits `detail` off a read tool's arguments: the rest goes to the tool; an invalid value is an
 * invalid_input error naming the choices.
 */
export function takeDetail(args: Record<string, unknown>): { args: Record<string, unknown>; full: boolean } {
  if (!('detail' in args)) return { args, full: false };
  const { detail, ...rest } = args;
  const parsed = detailInput.safeParse(detail);
  if (!parsed.success)
    throw new ToolError('invalid_input', 'invalid input: detail: must be "concise" or "full"');
  return { args: rest, full: parsed.data === 'full' };
}
