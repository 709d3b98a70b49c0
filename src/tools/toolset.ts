import type { AnyTool } from './define-tool.js';

export const TOOLSET_NAMES = [
  'health',
  'diagnosis',
  'logs',
  'checks',
  'lifecycle',
  'scaling',
  'backup',
  'admin',
] as const;
export type ToolsetName = (typeof TOOLSET_NAMES)[number];

/** What an agent needs first: is the stack OK, why not, and the evidence. */
export const DEFAULT_TOOLSETS: readonly ToolsetName[] = ['health', 'diagnosis', 'logs'];

/**
 * A group of tools an MCP client can switch on as one (--toolsets, mcp.toolsets, enable_toolsets).
 * Each folder under src/tools/ is one toolset and lists its tools in its index.ts; CLI and Slack
 * serve every tool whatever the toolsets.
 */
export interface Toolset {
  name: ToolsetName;
  /** One line for list_toolsets: what the tools are for. */
  description: string;
  tools: readonly AnyTool[];
}

export function defineToolset(t: Toolset): Toolset {
  return t;
}
