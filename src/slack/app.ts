import type { RequestListener } from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { ApprovalRecord } from '../safety/approvals.js';
import { planMessage, registerApprovalActions } from './approvals.js';
import { registerCommand } from './commands.js';
import { type SlackDeps, SlackRoles } from './context.js';
import { registerIncidentActions } from './incidents.js';
import type { SlackOptions } from './options.js';
import { registerQuestions } from './questions.js';
import { onceVerified } from './replay.js';

export interface SlackBot {
  /**
   * The /slack/events handler to mount in the HTTP server (HTTP mode only): signature and a
   * timestamp within 5 minutes either way checked, each signed request processed once (replay.ts).
   */
  requestListener?: RequestListener;
  /** The bot's Web API client, for messages doom-ops starts itself (incidents, scheduled runs). */
  client: WebClient;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Slack surface over the tool registry (design.md §6, §13): /doom, approval buttons,
 * mentions and DMs. HTTP mode hands back a request listener for the shared server's
 * /slack/events; Socket Mode connects out with the app token.
 */
export function createSlackBot(deps: SlackDeps, opts: SlackOptions, socketMode = false): SlackBot {
  const clientOptions = {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/` } : {}),
    retryConfig: { retries: opts.apiUrl ? 0 : 3 },
  };
  const common = {
    token: opts.botToken,
    ...(opts.botId ? { botId: opts.botId } : {}),
    ...(opts.botUserId ? { botUserId: opts.botUserId } : {}),
    clientOptions,
    logLevel: LogLevel.ERROR,
  };
  let receiver: HTTPReceiver | undefined;
  let app: App;
  if (socketMode) {
    if (!opts.appToken) throw new Error('Socket Mode needs SLACK_APP_TOKEN (an xapp- token)');
    app = new App({
      ...common,
      appToken: opts.appToken,
      socketMode: true,
      signingSecret: opts.signingSecret,
    });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: opts.signingSecret,
      endpoints: '/slack/events',
      logLevel: LogLevel.ERROR,
    });
    app = new App({ ...common, receiver });
  }
  app.error(async (err) => {
    deps.logger.error({ err }, 'slack listener failed');
  });
  const roles = new SlackRoles(deps.config, deps.logger);
  registerCommand(app, deps, roles);
  registerApprovalActions(app, deps, roles);
  registerQuestions(app, deps, roles);
  registerIncidentActions(app, deps, roles);

  // MCP callers without elicitation: their approval requests go to the approvals channel.
  const channel = deps.config.slack.approvalsChannel;
  const unsubscribe = channel
    ? deps.safety.approvals.onCreated((r: ApprovalRecord) => {
        if (r.requesterSurface === 'slack') return; // posted where it was asked
        void app.client.chat.postMessage({ channel, ...planMessage(r) }).catch((err: unknown) => {
          deps.logger.error({ err, approval: r.id }, 'could not post the approval request to Slack');
        });
      })
    : () => true;

  return {
    requestListener: receiver
      ? onceVerified(receiver.requestListener, opts.signingSecret, deps.logger)
      : undefined,
    client: app.client,
    start: async () => {
      if (socketMode) await app.start();
    },
    stop: async () => {
      unsubscribe();
      if (socketMode) await app.stop();
    },
  };
}
