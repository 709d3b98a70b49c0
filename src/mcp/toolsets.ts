import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { ToolError } from '../errors.js';
import type { AnyTool } from '../tools/define-tool.js';
import { toolsets as allToolsets } from '../tools/registry.js';
import { TOOLSET_NAMES, type ToolsetName } from '../tools/toolset.js';

/**
 * Which toolsets an MCP client sees now. One per 2025-era session or stdio connection; on
 * 2026-07-28 HTTP (no sessions) one per server process, shared by the bearer-token holder's
 * requests. Starts from config `mcp.toolsets` (`--toolsets`, DOOM_OPS_MCP_TOOLSETS);
 * enable_toolsets adds to it and `onChange` listeners send notifications/tools/list_changed.
 */
export class ToolsetSelection {
  private readonly enabled: Set<ToolsetName>;
  private readonly listeners = new Set<() => void>();

  constructor(initial: readonly string[]) {
    this.enabled = new Set(parseToolsets(initial));
  }

  static fromConfig(config: Config): ToolsetSelection {
    return new ToolsetSelection(config.mcp.toolsets);
  }

  has(name: ToolsetName): boolean {
    return this.enabled.has(name);
  }

  names(): ToolsetName[] {
    return TOOLSET_NAMES.filter((n) => this.enabled.has(n));
  }

  /** Enables these toolsets; returns the ones that were not enabled before. */
  enable(names: readonly string[]): ToolsetName[] {
    const added = parseToolsets(names).filter((n) => !this.enabled.has(n));
    for (const n of added) this.enabled.add(n);
    if (added.length > 0) for (const l of this.listeners) l();
    return added;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether a tool is shown: its toolset is enabled, or it belongs to none (a test registry). */
  shows(tool: AnyTool): boolean {
    const set = allToolsets.find((t) => t.tools.includes(tool));
    return !set || this.enabled.has(set.name);
  }
}

/** Toolset names from config or a client, `all` expanded; an unknown name is an error naming the known ones. */
export function parseToolsets(names: readonly string[]): ToolsetName[] {
  const out = new Set<ToolsetName>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (name === 'all') for (const n of TOOLSET_NAMES) out.add(n);
    else if ((TOOLSET_NAMES as readonly string[]).includes(name)) out.add(name as ToolsetName);
    else
      throw new ToolError('invalid_input', `unknown toolset "${raw}"`, {
        hint: `toolsets: ${TOOLSET_NAMES.join(', ')}, or all`,
      });
  }
  return TOOLSET_NAMES.filter((n) => out.has(n));
}

export const LIST_TOOLSETS = 'list_toolsets';
export const ENABLE_TOOLSETS = 'enable_toolsets';

export const listToolsetsInput = z.object({});
export const enableToolsetsInput = z.object({
  toolsets: z
    .array(z.string())
    .min(1)
    .describe(`Toolsets to add: ${TOOLSET_NAMES.join(', ')}, or all`),
});

const toolsetRow = z.object({
  name: z.string(),
  description: z.string(),
  enabled: z.boolean(),
  tools: z.array(z.string()),
});
export const toolsetsOutput = z.object({
  toolsets: z.array(toolsetRow),
  added: z.array(z.string()).describe('Toolsets this call enabled (enable_toolsets only)'),
});
export type ToolsetsOutput = z.output<typeof toolsetsOutput>;

/** The MCP-only tools that manage the session's toolsets (CLI and Slack have every tool). */
export const toolsetTools = [
  {
    name: LIST_TOOLSETS,
    title: 'List toolsets',
    summary:
      'Use to see which groups of doom-ops tools exist and which are enabled; enable more with enable_toolsets.',
    input: listToolsetsInput,
  },
  {
    name: ENABLE_TOOLSETS,
    title: 'Enable toolsets',
    summary:
      'Use when you need tools not listed yet (checks, lifecycle, scaling, backup, admin): adds their toolsets to this session.',
    input: enableToolsetsInput,
  },
] as const;

/** The answer of list_toolsets / enable_toolsets. */
export function toolsetsResult(
  selection: ToolsetSelection,
  readOnly: boolean,
  added: string[],
): ToolsetsOutput {
  return {
    toolsets: allToolsets.map((t) => ({
      name: t.name,
      description: t.description,
      enabled: selection.has(t.name),
      tools: t.tools.filter((tool) => !readOnly || tool.risk === 'read').map((tool) => tool.name),
    })),
    added,
  };
}

export function renderToolsets(out: ToolsetsOutput): string {
  const lines = out.toolsets.map(
    (t) =>
      `${t.enabled ? '[on] ' : '[off]'} ${t.name}: ${t.description} (${t.tools.join(', ') || 'none here'})`,
  );
  const head = out.added.length
    ? `enabled ${out.added.join(', ')}; tools/list now shows their tools`
    : 'toolsets (enable more with enable_toolsets)';
  return [head, ...lines].join('\n');
}
