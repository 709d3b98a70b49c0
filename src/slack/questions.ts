import type { App } from '@slack/bolt';
import { answerQuestion, KNOWN_QUESTIONS, type RoutedAnswer } from '../ask/router.js';
import { escapeMrkdwn, noteMessage, type SlackMessage, toolMessage } from './blocks.js';
import { channelAllowed, errorMessage, type SlackDeps, type SlackRoles, slackContext } from './context.js';

/** The router's answer: which tool it asked and why, then that tool's output as evidence. */
export function answerMessage(a: RoutedAnswer): SlackMessage {
  const r = a.route;
  if (r.kind === 'clarify') return noteMessage(`:grey_question: ${escapeMrkdwn(r.question)}`);
  if (r.kind === 'unknown')
    return noteMessage(
      `I can answer questions like: ${KNOWN_QUESTIONS.map((q) => `_${q}_`).join(', ')}`,
      'or use `/doom help` for every command',
    );
  const m = toolMessage(r.tool, a.evidence);
  const input = Object.entries(r.input)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const source = `evidence: \`${r.tool}${input ? ` ${input}` : ''}\` (intent ${r.intent})`;
  return {
    text: `${m.text}\n${source}`,
    blocks: [
      ...m.blocks.slice(0, 49),
      { type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(source) }] },
    ],
  };
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
      m = answerMessage(await answerQuestion(ctx, question));
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
