import { admin } from './admin/index.js';
import { backup } from './backup/index.js';
import { checks } from './checks/index.js';
import type { AnyTool } from './define-tool.js';
import { diagnosis } from './diagnosis/index.js';
import { health } from './health/index.js';
import { lifecycle } from './lifecycle/index.js';
import { logs } from './logs/index.js';
import { scaling } from './scaling/index.js';
import type { Toolset } from './toolset.js';

/** Every toolset, in the order surfaces list them (each folder's index.ts lists its tools). */
export const toolsets: readonly Toolset[] = [
  health,
  diagnosis,
  logs,
  checks,
  lifecycle,
  scaling,
  backup,
  admin,
];

/** Every tool, in the order surfaces list them. Adding a tool to a toolset serves it on MCP, Slack and the CLI. */
export const registry: readonly AnyTool[] = toolsets.flatMap((t) => t.tools);

export function findTool(name: string): AnyTool | undefined {
  return registry.find((t) => t.name === name);
}

/** The toolset a tool belongs to. */
export function toolsetOf(name: string): Toolset | undefined {
  return toolsets.find((t) => t.tools.some((tool) => tool.name === name));
}
