import type { ToolAnnotations } from '@modelcontextprotocol/server';
import type { AnyTool } from '../tools/define-tool.js';

/**
 * Hints derived from a tool's risk, every one set explicitly (the title is the tool's own, not repeated here). They are labels for clients; the
 * server enforces read-only mode and approvals itself.
 */
export function annotationsFor(tool: AnyTool): ToolAnnotations {
  return {
    readOnlyHint: tool.risk === 'read',
    destructiveHint: tool.risk === 'destructive' || tool.mayDestroy === true,
    idempotentHint: tool.idempotent,
    // Every tool acts on one configured Docker stack, not an open-ended outside world.
    openWorldHint: false,
  };
}
