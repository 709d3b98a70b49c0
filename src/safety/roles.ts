import type { Config, Role } from '../config/schema.js';
import { ToolError } from '../errors.js';
import type { Principal, Risk } from './principal.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, approver: 2 };

/**
 * A principal's role: roles.principals by id, else the default for its surface (MCP over stdio
 * is the local user, `mcpStdio`; MCP over HTTP is a token holder, `mcp`).
 */
export function roleOf(config: Config, principal: Principal): Role {
  const listed = config.roles.principals[principal.id];
  if (listed) return listed;
  if (principal.surface === 'mcp' && principal.transport === 'stdio') return config.roles.defaults.mcpStdio;
  return config.roles.defaults[principal.surface];
}

/** Whether the principal holds the approver role (may approve a destructive call). */
export function isApprover(config: Config, principal: Principal): boolean {
  return RANK[roleOf(config, principal)] >= RANK.approver;
}

/** The role a risk needs to be requested: read = viewer, write and destructive = operator. */
export function requiredRole(risk: Risk): Role {
  return risk === 'read' ? 'viewer' : 'operator';
}

export function assertRole(config: Config, principal: Principal, needed: Role, what: string): void {
  const has = roleOf(config, principal);
  if (RANK[has] < RANK[needed]) {
    throw new ToolError(
      'not_allowed',
      `${what} needs the ${needed} role; ${principal.display ?? principal.id} has ${has}`,
      {
        hint: `ask someone with the ${needed} role, or have ${principal.id} added under roles.principals in the config`,
      },
    );
  }
}
