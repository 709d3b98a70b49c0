import type { KnownBlock } from '@slack/types';
import { renderText } from '../render/text.js';
import { verdictOf } from '../render/verdict.js';
import { findTool } from '../tools/registry.js';

/** Slack's limits: 50 blocks per message, 3000 characters per section text. */
export const MAX_BLOCKS = 50;
const MAX_SECTION = 3000;
const CODE_CHUNK = MAX_SECTION - 10;
const FALLBACK_MAX = 3000;

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/**
 * Slack mrkdwn treats &, < and > as markup (`<!channel>`, `<@U…>`, `<#C…>`, links); everything
 * shown from the stack is escaped, in blocks and in the fallback `text` alike (Slack notifies from
 * the fallback, so an unescaped `<!channel>` there pings the whole channel).
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Lines packed into code blocks that each fit a section. A single overlong line is cut. */
export function codeBlocks(text: string, max = MAX_BLOCKS): { blocks: KnownBlock[]; droppedLines: number } {
  const chunks: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.length > CODE_CHUNK - 8 ? `${raw.slice(0, CODE_CHUNK - 9)}…` : raw;
    if (cur.length + line.length + 1 > CODE_CHUNK - 8) {
      chunks.push(cur);
      cur = '';
    }
    cur += `${line}\n`;
  }
  if (cur) chunks.push(cur);
  const kept = chunks.slice(0, max);
  const droppedLines = chunks.slice(max).reduce((n, c) => n + c.split('\n').length - 1, 0);
  return { blocks: kept.map((c) => section(`\`\`\`\n${escapeMrkdwn(c.trimEnd())}\n\`\`\``)), droppedLines };
}

function headline(tool: string, output: unknown): string {
  const title = findTool(tool)?.title ?? tool;
  const { verdict, summary } = verdictOf(output);
  const parts = [`*${escapeMrkdwn(title)}*`];
  if (verdict) parts.push(`verdict: *${escapeMrkdwn(verdict)}*`);
  if (summary) parts.push(escapeMrkdwn(summary));
  return parts.join(' — ');
}

/** Per-service status line for stack_health, so every service is named outside the table too. */
function healthFields(output: unknown): KnownBlock[] {
  const services = (output as { services?: Array<{ service: string; ok: boolean; status: string }> })
    .services;
  if (!services?.length) return [];
  const lines = services.map(
    (s) =>
      `${s.ok ? ':large_green_circle:' : ':red_circle:'} *${escapeMrkdwn(s.service)}* ${escapeMrkdwn(s.status)}`,
  );
  return [section(lines.join('\n').slice(0, MAX_SECTION))];
}

/**
 * A tool's structured output as a Slack message: headline (title, verdict, summary), the same
 * text the CLI prints in code blocks, and a note when it had to be cut to fit Slack's limits.
 * `text` is the notification/accessibility fallback.
 */
export function toolMessage(tool: string, output: unknown): SlackMessage {
  const head = headline(tool, output);
  const body = renderText(tool, output);
  const extra = tool === 'stack_health' ? healthFields(output) : [];
  const room = MAX_BLOCKS - 2 - extra.length;
  const { blocks, droppedLines } = codeBlocks(body, room);
  const out: KnownBlock[] = [section(head), ...extra, ...blocks];
  if (droppedLines)
    out.push(
      context(
        `truncated: ${droppedLines} more lines did not fit in a Slack message; run it from the CLI or MCP for all of it`,
      ),
    );
  // head is escaped already; the body goes into the fallback as it goes into the code blocks.
  const fallback = `${head.replace(/\*/g, '')}\n${escapeMrkdwn(body)}`;
  return {
    text: fallback.length > FALLBACK_MAX ? `${fallback.slice(0, FALLBACK_MAX - 1)}…` : fallback,
    blocks: out,
  };
}

/** A short message (errors, notes) with the same text as fallback: the caller escapes what came from the stack. */
export function noteMessage(text: string, detail?: string): SlackMessage {
  const blocks: KnownBlock[] = [section(text.slice(0, MAX_SECTION))];
  if (detail) blocks.push(context(detail.slice(0, MAX_SECTION)));
  return { text: detail ? `${text}\n${detail}` : text, blocks };
}
