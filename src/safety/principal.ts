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

/** How much a tool call can change: read (nothing), write (reversible), destructive (needs approval). */
export type Risk = 'read' | 'write' | 'destructive';
