import type { App } from '@slack/bolt';
import type { z } from 'zod';
import { type askTool, cite } from '../tools/diagnosis/ask.js';
import { invokeTool } from '../tools/invoke.js';
import { findTool } from '../tools/registry.js';
import { escapeMrkdwn, noteMessage, type SlackMessage, toolMessage } from './blocks.js';
import { channelAllowed, errorMessage, type SlackDeps, type SlackRoles, slackContext } from './context.js';

type AskOutput = z.output<typeof askTool.output>;

/** The ask tool's answer: the evidence tool's own rendering when one tool was used, plus citations. */
export function answerMessage(a: AskOutput): SlackMessage {
  if (a.clarify) return noteMessage(`:grey_question: ${escapeMrkdwn(a.clarify)}`);
  const notes = [
    ...a.evidence.map((e) => `evidence: \`${cite(e)}\``),
    ...a.refused.map((r) => `refused: the model asked for ${r.tool}; ask only reads`),
    ...(a.note ? [`note: ${a.note}`] : []),
  ].join('\n');
  const context = notes
    ? [
        {
          type: 'context' as const,
          elements: [{ type: 'mrkdwn' as const, text: escapeMrkdwn(notes).slice(0, 2900) }],
        },
      ]
    : [];
  if (a.via !== 'model' && a.evidence.length === 1) {
    const m = toolMessage(a.evidence[0]!.tool, a.evidence[0]!.output);
    return {
      text: `${m.text}\n${escapeMrkdwn(notes)}`,
      blocks: [...m.blocks.slice(0, 49 - context.length), ...context],
    };
  }
  const m = noteMessage(escapeMrkdwn(a.answer).slice(0, 2900));
  return { text: `${escapeMrkdwn(a.answer)}\n${escapeMrkdwn(notes)}`, blocks: [...m.blocks, ...context] };
}

/** Mentions and direct messages are questions, answered in a thread. Slack retries are dropped by event id. */
export function registerQuestions(app: App, deps: SlackDeps, roles: SlackRoles): void {
  const seen = new Map<string, number>();
  app.use(async ({ body, next }) => {
    const id = (body as { event_id?: string }).event_id;
    if (id) {
      const now = Date.now();
      for (const [k, at] of seen) if (now - at > 10 * 60_000) seen.delete(k);
      // A retry (same event_id) of something already being answered: Bolt has acked it, stop here.
      if (seen.has(id)) return;
      seen.set(id, now);
    }
    await next();
  });

  const answer = async (
    client: Parameters<Parameters<App['event']>[1]>[0]['client'],
    e: { user?: string; channel: string; text?: string; ts: string; thread_ts?: string },
  ) => {
    if (!e.user || !channelAllowed(deps.config, e.channel)) return;
    const question = (e.text ?? '').replace(/<@[A-Z0-9]+>/g, '').trim();
    const config = await roles.configFor(client, e.user);
    const ctx = slackContext(deps, config, { id: e.user, channel: e.channel });
    let m: SlackMessage;
    try {
      m = answerMessage((await invokeTool(findTool('ask')!, ctx, { question })) as AskOutput);
    } catch (err) {
      m = errorMessage(err, 'answering that', deps.logger);
    }
    await client.chat.postMessage({ channel: e.channel, thread_ts: e.thread_ts ?? e.ts, ...m });
  };

  app.event('app_mention', async ({ event, client }) => answer(client, event));
  app.message(async ({ message, client }) => {
    const m = message as { channel_type?: string; subtype?: string; bot_id?: string };
    if (m.channel_type !== 'im' || m.subtype || m.bot_id) return;
    await answer(client, message as unknown as Parameters<typeof answer>[1]);
  });
}
