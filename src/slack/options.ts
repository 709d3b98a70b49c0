export interface SlackOptions {
  signingSecret: string;
  botToken: string;
  /** Web API base (SLACK_API_URL): a proxy, or the local stand-in in tests. */
  apiUrl?: string;
  /** Known bot ids skip Bolt's auth.test call. */
  botId?: string;
  botUserId?: string;
  /** Socket Mode for development (SLACK_APP_TOKEN): no public endpoint needed. */
  appToken?: string;
}

/** The options `doom-ops serve` reads from the environment (design.md §14); undefined = Slack off. */
export function slackOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SlackOptions | undefined {
  if (!env.SLACK_SIGNING_SECRET || !env.SLACK_BOT_TOKEN) return undefined;
  return {
    signingSecret: env.SLACK_SIGNING_SECRET,
    botToken: env.SLACK_BOT_TOKEN,
    apiUrl: env.SLACK_API_URL || undefined,
    botId: env.SLACK_BOT_ID || undefined,
    botUserId: env.SLACK_BOT_USER_ID || undefined,
  };
}
