import type { DockerAdapter } from '../adapters/docker/client.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { Safety } from '../safety/index.js';
import type { Principal, ToolContext } from '../tools/context.js';
import type { AnyTool } from '../tools/define-tool.js';
import { registry as defaultRegistry } from '../tools/registry.js';
import type { ToolRunner } from '../tools/runner.js';
import type { TaskStore } from './tasks.js';
import type { ToolsetSelection } from './toolsets.js';

/** What every MCP server of this process is built from. */
export interface McpDeps {
  config: Config;
  docker: DockerAdapter;
  logger: Logger;
  principal: Principal;
  safety: Safety;
  registry?: readonly AnyTool[];
  version?: string;
  /**
   * The toolsets tools/list shows, when several servers share them (2026-07-28 HTTP: one server
   * per request). Absent: each server keeps its own, from config, for its session or connection.
   */
  toolsets?: ToolsetSelection;
  /** Where tasks live (2026-07-28 Tasks extension); default: one store for the process. */
  tasks?: TaskStore;
  /** serve's bounded worker pool and single flight (tools/runner.ts), shared with Slack and the watcher. */
  runner?: ToolRunner;
}

/** The context a tool call made through this surface runs with. */
export function toolContext(
  deps: McpDeps,
  signal: AbortSignal,
  extra: Partial<Pick<ToolContext, 'approver' | 'progress'>> = {},
): ToolContext {
  return {
    docker: deps.docker,
    config: deps.config,
    project: deps.config.project,
    principal: deps.principal,
    signal,
    logger: deps.logger,
    safety: deps.safety,
    progress: () => {},
    tools: deps.registry ?? defaultRegistry,
    ...(deps.runner ? { runner: deps.runner } : {}),
    ...extra,
  };
}
