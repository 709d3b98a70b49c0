import type { DockerAdapter } from '../adapters/docker/client.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { Approver } from '../safety/approver.js';
import type { Safety } from '../safety/index.js';
import type { Principal } from '../safety/principal.js';
import type { AnyTool } from './define-tool.js';
import type { ToolRunner } from './runner.js';

export type { Principal } from '../safety/principal.js';

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
  /**
   * The tools this surface serves (the registry): composite tools (ask, run_runbook, stack_up)
   * call other tools through it instead of importing the registry.
   */
  tools: readonly AnyTool[];
  /**
   * Called once the call is past every gate (input, roles, approval, the stack lock, a fresh
   * plan) and its work begins: MCP turns a long call into a task at this point.
   */
  onStart?: () => void;
  /**
   * Bounded work and single flight for a long-running process (serve): tool runs wait for one of
   * its workers, and identical concurrent reads share one run. Absent (the CLI): runs at once.
   */
  runner?: ToolRunner;
  /**
   * Set on the context of one swarm node's engine (`docker` is that node's view of the stack): the
   * manager's engine, which holds the stack's services (their secrets, for masking). Absent otherwise.
   */
  swarmManager?: DockerAdapter;
}

/** A context for doom-ops' own background work (incident watcher, scheduled jobs) on the configured stack. */
export function internalContext(
  deps: Pick<ToolContext, 'config' | 'docker' | 'logger' | 'safety' | 'tools' | 'runner'>,
  who: { id: string; display: string },
  signal: AbortSignal,
  approver?: Approver,
): ToolContext {
  return {
    config: deps.config,
    docker: deps.docker,
    logger: deps.logger,
    safety: deps.safety,
    tools: deps.tools,
    project: deps.config.project,
    principal: { ...who, surface: 'internal' },
    signal,
    progress: () => {},
    ...(deps.runner ? { runner: deps.runner } : {}),
    ...(approver ? { approver } : {}),
  };
}
