import { type RunningHttp, serveHttp } from '../../src/mcp/http.js';
import { createSlackBot, type SlackBot } from '../../src/slack/app.js';
import type { ToolContext } from '../../src/tools/context.js';
import type { SlackStandIn } from './slack-standin.js';

/**
 * The Slack bot as `doom-ops serve` runs it: Bolt's request listener mounted at /slack/events of
 * the MCP HTTP server on 127.0.0.1 (a free port), talking to the Slack stand-in's Web API.
 */
export async function serveSlackBot(
  ctx: ToolContext,
  slack: SlackStandIn,
  signingSecret: string,
): Promise<{ bot: SlackBot; http: RunningHttp }> {
  const bot = createSlackBot(ctx, {
    signingSecret,
    botToken: 'xoxb-test',
    apiUrl: `${slack.url}/api/`,
    botId: 'BBOT',
    botUserId: 'UBOT',
  });
  const http = await serveHttp(
    { ...ctx, principal: { id: 'mcp:http', surface: 'mcp' } },
    { host: '127.0.0.1', port: 0, token: 'mcp-token', routes: { '/slack/events': bot.requestListener! } },
  );
  return { bot, http };
}
