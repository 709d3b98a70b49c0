import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import { ToolError } from '../errors.js';
import { assertRole } from '../safety/roles.js';
import { invokeTool } from '../tools/invoke.js';
import { findTool } from '../tools/registry.js';
import { type Incident, IncidentStore, isMuted } from '../watch/incident-store.js';
import { headlineKind, type IncidentNotifier, runbookFor } from '../watch/notifier.js';
import { slackApprover } from './approvals.js';
import { escapeMrkdwn, type SlackMessage, toolMessage } from './blocks.js';
import { errorMessage, type SlackDeps, type SlackRoles, slackContext } from './context.js';

export const RUNBOOK = 'doom_incident_runbook';
export const ACTION = 'doom_incident_action';
export const MUTE = 'doom_incident_mute';

const ICON = { open: ':rotating_light:', resolved: ':white_check_mark:' } as const;

/** The incident as one message: title, verdict, evidence, counts, and its buttons while open. */
export function incidentMessage(inc: Incident, now = Date.now()): SlackMessage {
  const muted = isMuted(inc, now);
  const head = `${ICON[inc.status]} *${escapeMrkdwn(inc.title)}*${inc.status === 'resolved' ? ' — resolved' : ''}`;
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `${head}\n${escapeMrkdwn(inc.verdict)}`.slice(0, 2900) },
    },
  ];
  if (inc.evidence.length)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `\`\`\`${escapeMrkdwn(inc.evidence.join('\n').replace(/```/g, "'''")).slice(0, 2800)}\`\`\``,
      },
    });
  const facts = [
    `incident ${inc.id}`,
    `opened ${inc.openedAt}`,
    inc.resolvedAt ? `resolved ${inc.resolvedAt}` : `updated ${inc.updatedAt}`,
    muted ? `muted until ${inc.mutedUntil} by ${inc.mutedBy}` : '',
  ].filter(Boolean);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(facts.join(' · ')) }] });
  if (inc.status === 'open') {
    const buttons: KnownBlock = {
      type: 'actions',
      block_id: `incident:${inc.id}`,
      elements: [
        {
          type: 'button',
          action_id: RUNBOOK,
          text: { type: 'plain_text', text: `Run ${runbookFor(inc)} runbook` },
          value: inc.id,
        },
        ...(inc.service
          ? [
              {
                type: 'button' as const,
                action_id: ACTION,
                text: { type: 'plain_text' as const, text: `Restart ${inc.service}` },
                value: inc.id,
              },
            ]
          : []),
        ...(muted
          ? []
          : [
              {
                type: 'button' as const,
                action_id: MUTE,
                text: { type: 'plain_text' as const, text: 'Mute' },
                value: inc.id,
              },
            ]),
      ],
    };
    blocks.push(buttons);
  }
  return {
    text: `${inc.status === 'open' ? 'incident' : 'resolved'}: ${escapeMrkdwn(inc.title)} — ${escapeMrkdwn(inc.verdict)}`.slice(
      0,
      2900,
    ),
    blocks,
  };
}

/** Incidents to one Slack channel: posted, edited in place, recovery in the thread. */
export function slackIncidentNotifier(client: WebClient, channel: string): IncidentNotifier {
  return {
    async post(inc) {
      const r = await client.chat.postMessage({ channel, ...incidentMessage(inc) });
      if (!r.ts) throw new Error('Slack returned no message ts');
      return { channel: r.channel ?? channel, ts: r.ts };
    },
    async update(inc) {
      if (inc.slack)
        await client.chat.update({ channel: inc.slack.channel, ts: inc.slack.ts, ...incidentMessage(inc) });
    },
    async recovered(inc) {
      if (!inc.slack) return;
      const took = inc.resolvedAt
        ? Math.round((Date.parse(inc.resolvedAt) - Date.parse(inc.openedAt)) / 1000)
        : 0;
      await client.chat.postMessage({
        channel: inc.slack.channel,
        thread_ts: inc.slack.ts,
        text: `:white_check_mark: recovered after ${took}s: ${escapeMrkdwn(inc.verdict.split('\n').at(-1) ?? '')} (${inc.deaths} death(s), ${inc.oomKills} OOM kill(s) in all)`,
      });
      await client.chat.update({ channel: inc.slack.channel, ts: inc.slack.ts, ...incidentMessage(inc) });
    },
  };
}

/**
 * The incident buttons. Runbook: its findings in the thread (a read, any role). Restart: the
 * suggested action through the same approval path as `/doom restart`. Mute: silences the incident
 * for watch.muteFor (operators and approvers).
 */
export function registerIncidentActions(app: App, deps: SlackDeps, roles: SlackRoles): void {
  const store = new IncidentStore(deps.config.stateDir, deps.config.project);
  const handle = (
    id: string,
    what: (
      inc: Incident,
      ctx: ReturnType<typeof slackContext>,
      client: WebClient,
      thread: (m: SlackMessage) => Promise<unknown>,
    ) => Promise<void>,
  ) =>
    app.action<BlockAction<ButtonAction>>(id, async ({ ack, body, action, client, respond }) => {
      await ack();
      const user = body.user;
      const channel = body.channel?.id;
      const config = await roles.configFor(client, user.id);
      const ctx = slackContext(deps, config, { id: user.id, name: user.name, channel });
      const inc = store.get(action.value ?? '');
      try {
        if (!inc) throw new ToolError('not_found', `incident ${action.value} is not in the incident store`);
        const where = inc.slack ?? (channel ? { channel, ts: body.message?.ts ?? '' } : undefined);
        const thread = (m: SlackMessage) =>
          where
            ? client.chat.postMessage({ channel: where.channel, thread_ts: where.ts || undefined, ...m })
            : respond({ ...m, response_type: 'in_channel', replace_original: false });
        await what(inc, { ...ctx, approver: slackApprover(deps, thread) }, client, thread);
      } catch (err) {
        if ((err as { code?: string }).code === 'approval_required') return;
        await respond({
          ...errorMessage(err, `${action.text.text}`, deps.logger),
          response_type: 'ephemeral',
          replace_original: false,
        });
      }
    });

  handle(RUNBOOK, async (inc, ctx, _client, thread) => {
    const out = await invokeTool(findTool('run_runbook')!, ctx, {
      id: runbookFor(inc),
      ...(inc.service ? { service: inc.service } : {}),
    });
    await thread(toolMessage('run_runbook', out));
  });
  handle(ACTION, async (inc, ctx, _client, thread) => {
    if (!inc.service) throw new ToolError('invalid_input', `incident ${inc.id} has no service to restart`);
    const out = await invokeTool(findTool('restart_service')!, ctx, { service: inc.service });
    await thread(toolMessage('restart_service', out));
  });
  handle(MUTE, async (inc, ctx, client) => {
    assertRole(ctx.config, ctx.principal, 'operator', 'mute an incident');
    const muted = store.mute(
      inc.id,
      Date.now() + deps.config.watch.muteFor,
      `<@${ctx.principal.id.slice(6)}>`,
    );
    ctx.safety.audit.append({
      event: 'muted',
      principal: ctx.principal.id,
      surface: 'slack',
      tool: 'incident',
      input: { incident: inc.id, key: inc.key, kind: headlineKind(inc) },
      outcome: `muted until ${muted?.mutedUntil}`,
      project: ctx.project,
    });
    if (muted?.slack)
      await client.chat.update({
        channel: muted.slack.channel,
        ts: muted.slack.ts,
        ...incidentMessage(muted),
      });
  });
}
