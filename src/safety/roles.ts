import type { Config, Role } from '../config/schema.js';
import { ToolError } from '../errors.js';
import type { Principal } from '../tools/context.js';
import type { Risk } from '../tools/define-tool.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, approver: 2 };

export function roleOf(config: Config, principal: Principal): Role {
  return config.roles.principals[principal.id] ?? config.roles.defaults[principal.surface];
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
