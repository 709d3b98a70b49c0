import type { WebClient } from '@slack/web-api';
import type { DockerAdapter } from '../adapters/docker/client.js';
import type { Config, Role } from '../config/schema.js';
import { isToolError, newErrorRef } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Approver } from '../safety/approver.js';
import type { Safety } from '../safety/index.js';
import type { Progress, ToolContext } from '../tools/context.js';
import { registry } from '../tools/registry.js';
import type { ToolRunner } from '../tools/runner.js';
import { escapeMrkdwn, noteMessage, type SlackMessage } from './blocks.js';

export interface SlackDeps {
  config: Config;
  docker: DockerAdapter;
  logger: Logger;
  safety: Safety;
  /** serve's bounded worker pool: commands are acknowledged first, their work waits here. */
  runner?: ToolRunner;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, approver: 2 };

/**
 * Roles come from roles.principals (`slack:U…`) first; a user not listed there gets the highest
 * role of the configured user groups they belong to (looked up with usergroups.users.list and
 * cached), else the Slack default. Returns the config the user's calls run with.
 */
export class SlackRoles {
  private readonly cache = new Map<string, { users: Set<string>; at: number }>();

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  async configFor(client: WebClient, userId: string): Promise<Config> {
    const id = `slack:${userId}`;
    const groups = Object.entries(this.config.slack.userGroups);
    if (this.config.roles.principals[id] || groups.length === 0) return this.config;
    let best: Role | undefined;
    for (const [group, role] of groups) {
      if (!(await this.members(client, group)).has(userId)) continue;
      if (!best || RANK[role] > RANK[best]) best = role;
    }
    if (!best) return this.config;
    return {
      ...this.config,
      roles: { ...this.config.roles, principals: { ...this.config.roles.principals, [id]: best } },
    };
  }

  private async members(client: WebClient, group: string): Promise<Set<string>> {
    const hit = this.cache.get(group);
    if (hit && Date.now() - hit.at < this.config.slack.userGroupsTtl) return hit.users;
    try {
      const r = await client.usergroups.users.list({ usergroup: group });
      const users = new Set(r.users ?? []);
      this.cache.set(group, { users, at: Date.now() });
      return users;
    } catch (err) {
      // Fail closed to the default role: a lookup error must not grant anything.
      this.logger.warn({ err, group }, 'slack user-group lookup failed');
      return new Set();
    }
  }
}

/** The channel allowlist: empty means every channel the app was invited to. */
export function channelAllowed(config: Config, channel: string | undefined): boolean {
  const list = config.slack.channels;
  return list.length === 0 || (channel !== undefined && list.includes(channel));
}

export function slackContext(
  deps: SlackDeps,
  config: Config,
  user: { id: string; name?: string; channel?: string },
  extra: { approver?: Approver; progress?: (p: Progress) => void; signal?: AbortSignal } = {},
): ToolContext {
  return {
    docker: deps.docker,
    config,
    project: config.project,
    principal: {
      id: `slack:${user.id}`,
      surface: 'slack',
      display: user.name ? `${user.name} (slack:${user.id})` : `slack:${user.id}`,
      ...(user.channel ? { channel: user.channel } : {}),
    },
    signal: extra.signal ?? new AbortController().signal,
    logger: deps.logger,
    safety: deps.safety,
    progress: extra.progress ?? (() => {}),
    tools: registry,
    ...(deps.runner ? { runner: deps.runner } : {}),
    ...(extra.approver ? { approver: extra.approver } : {}),
  };
}

/** What a user sees when something fails: what, why, what next; never a stack trace. */
export function errorMessage(err: unknown, what: string, logger: Logger): SlackMessage {
  if (isToolError(err))
    return noteMessage(
      `:x: ${escapeMrkdwn(what)}: ${escapeMrkdwn(err.message)}`,
      err.hint ? `next: ${escapeMrkdwn(err.hint)}` : undefined,
    );
  const ref = newErrorRef();
  logger.error({ err, ref, what }, 'slack request failed');
  return noteMessage(
    `:x: ${escapeMrkdwn(what)} failed: internal error (ref ${ref})`,
    'the server log has the details under that ref',
  );
}
