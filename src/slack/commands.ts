import type { App, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { assertRole, requiredRole } from '../safety/roles.js';
import type { Progress, ToolContext } from '../tools/context.js';
import { effectiveRisk, invokeTool, parseInput } from '../tools/invoke.js';
import { findTool } from '../tools/registry.js';
import { planMessage, slackApprover } from './approvals.js';
import { escapeMrkdwn, noteMessage, type SlackMessage, toolMessage } from './blocks.js';
import { channelAllowed, errorMessage, type SlackDeps, type SlackRoles, slackContext } from './context.js';
import { helpText, parseCommand } from './grammar.js';
import { answerMessage } from './questions.js';

/** Tools that take long enough to deserve a channel message updated with progress. */
const LONG = new Set([
  'stack_up',
  'backup',
  'restore',
  'scale_service',
  'scale_agents',
  'restart_service',
  'prune_backups',
  'drill_backup',
]);
const PROGRESS_EVERY_MS = 1000;

function help(note?: string): SlackMessage {
  return noteMessage(`${note ? `:grey_question: ${note}\n` : ''}${helpText()}`);
}

/** chat.update at most once a second while a long job reports progress. */
function progressUpdater(client: WebClient, channel: string, ts: () => string | undefined, title: string) {
  let last = 0;
  return (p: Progress) => {
    const at = ts();
    if (!at || Date.now() - last < PROGRESS_EVERY_MS) return;
    last = Date.now();
    const pct = p.total ? ` ${p.progress}/${p.total}` : '';
    void client.chat
      .update({ channel, ts: at, text: `${title}: ${escapeMrkdwn(p.message ?? 'working')}${pct}` })
      .catch(() => undefined);
  };
}

/**
 * `/doom …`: acknowledged at once (Slack gives 3 s) with an ephemeral "working on it", then the
 * result through response_url, or for long jobs a channel message updated as they progress.
 */
export function registerCommand(app: App, deps: SlackDeps, roles: SlackRoles, name = '/doom'): void {
  app.command(name, async ({ command, ack, respond, client }) => {
    if (!channelAllowed(deps.config, command.channel_id)) {
      await ack({
        response_type: 'ephemeral',
        text: 'doom-ops is not enabled in this channel (see slack.channels in its config)',
      });
      return;
    }
    const parsed = parseCommand(command.text ?? '');
    if (parsed.kind === 'help') {
      await ack({ response_type: 'ephemeral', ...help(parsed.note) });
      return;
    }
    if (parsed.kind === 'error') {
      await ack({
        response_type: 'ephemeral',
        ...noteMessage(`:x: ${parsed.message}`, `usage: ${name} ${parsed.usage}`),
      });
      return;
    }
    await ack({
      response_type: 'ephemeral',
      text: `:hourglass_flowing_sand: working on it: \`${name} ${escapeMrkdwn(command.text)}\``,
    });
    const config = await roles.configFor(client, command.user_id);
    const user = { id: command.user_id, name: command.user_name, channel: command.channel_id };
    const post = (m: SlackMessage) => client.chat.postMessage({ channel: command.channel_id, ...m });
    try {
      if (parsed.kind === 'approvals') return await listApprovals(deps, respond);
      if (parsed.kind === 'ask') {
        const ctx = slackContext(deps, config, user);
        const answer = (await invokeTool(findTool('ask')!, ctx, { question: parsed.question })) as Parameters<
          typeof answerMessage
        >[0];
        return void (await respond({ response_type: 'in_channel', ...answerMessage(answer) }));
      }
      const tool = findTool(parsed.tool)!;
      let ts: string | undefined;
      const ctx: ToolContext = slackContext(deps, config, user, {
        approver: slackApprover(deps, post),
        progress: progressUpdater(client, command.channel_id, () => ts, tool.name),
      });
      const risk = await effectiveRisk(tool, parseInput(tool, parsed.input), ctx);
      const long = LONG.has(tool.name) && risk !== 'destructive';
      if (long) {
        // Checked before anything is posted in the channel; invokeTool checks it again.
        assertRole(config, ctx.principal, requiredRole(risk), tool.name);
        ts = (await post(noteMessage(`:hourglass_flowing_sand: ${tool.name} started by <@${user.id}>`))).ts;
      }
      const out = await invokeTool(tool, ctx, parsed.input);
      const m = toolMessage(tool.name, out);
      if (ts) await client.chat.update({ channel: command.channel_id, ts, ...m });
      else await respond({ response_type: 'in_channel', ...m });
    } catch (err) {
      if ((err as { code?: string }).code === 'approval_required') {
        await respond({
          response_type: 'ephemeral',
          text: ':lock: the plan is posted in the channel for approval',
        });
        return;
      }
      await respond({
        response_type: 'ephemeral',
        ...errorMessage(err, `${name} ${command.text}`, deps.logger),
      });
    }
  });
}

async function listApprovals(deps: SlackDeps, respond: RespondFn): Promise<void> {
  const pending = deps.safety.approvals.list().filter((r) => r.status === 'pending');
  if (pending.length === 0) {
    await respond({ response_type: 'ephemeral', text: 'no pending approvals' });
    return;
  }
  // One plan with buttons per pending approval, within Slack's 50-block limit (3 blocks each).
  const blocks = pending.slice(0, 16).flatMap((r) => planMessage(r).blocks);
  await respond({
    response_type: 'ephemeral',
    text: `${pending.length} pending approval(s): ${pending.map((r) => `${r.id} ${r.tool}`).join(', ')}`,
    blocks,
  });
}
