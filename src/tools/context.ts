import type { DockerAdapter } from '../adapters/docker/client.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { Approver } from '../safety/approver.js';
import type { Safety } from '../safety/index.js';

/** Who is asking, and from where: audit and permission checks key on this. */
export interface Principal {
  id: string;
  surface: 'cli' | 'mcp' | 'slack' | 'internal';
  /**
   * MCP only: stdio is the local user who started `doom-ops mcp` (roles.defaults.mcpStdio);
   * http is a bearer-token holder of `doom-ops serve` (roles.defaults.mcp). Absent = http.
   */
  transport?: 'stdio' | 'http';
  display?: string;
  /** Where within the surface (a Slack channel ID), for the audit log. */
  channel?: string;
}

export interface Progress {
  progress: number;
  total?: number;
  message?: string;
}

export interface ToolContext {
  docker: DockerAdapter;
  config: Config;
  /** The Compose project being operated (config.project after --project / COMPOSE_PROJECT_NAME). */
  project: string;
  principal: Principal;
  signal: AbortSignal;
  progress(update: Progress): void;
  logger: Logger;
  safety: Safety;
  /** How this surface obtains a human's approval for a destructive call; none = refuse (fail closed). */
  approver?: Approver;
}

/** A context for doom-ops' own background work (incident watcher, scheduled jobs) on the configured stack. */
export function internalContext(
  deps: Pick<ToolContext, 'config' | 'docker' | 'logger' | 'safety'>,
  who: { id: string; display: string },
  signal: AbortSignal,
  approver?: Approver,
): ToolContext {
  return {
    config: deps.config,
    docker: deps.docker,
    logger: deps.logger,
    safety: deps.safety,
    project: deps.config.project,
    principal: { ...who, surface: 'internal' },
    signal,
    progress: () => {},
    ...(approver ? { approver } : {}),
  };
}
