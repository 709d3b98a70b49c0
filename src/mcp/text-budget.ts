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
    `(mcp.textBudget ${budget}); ${how}. The full result is in structuredContent.`
  );
}
