import { listBackups } from '../tools/backup/list-backups.js';
import type { ToolContext } from '../tools/context.js';
import { invokeTool } from '../tools/invoke.js';
import { stackReplicas } from '../tools/lib/stack.js';

/** At most this many suggestions per completion (the protocol caps a response at 100). */
const MAX = 100;

function matching(values: Iterable<string>, prefix: string): string[] {
  const p = prefix.toLowerCase();
  return [...new Set(values)]
    .filter((v) => v.toLowerCase().startsWith(p))
    .sort()
    .slice(0, MAX);
}

/**
 * Service names for completion: the services config expects plus those with containers on the
 * engine now (Engine API container list). An engine that cannot answer leaves the configured ones.
 */
export async function completeService(ctx: ToolContext, prefix: string): Promise<string[]> {
  const names = Object.keys(ctx.config.services);
  try {
    for (const c of await stackReplicas(ctx)) names.push(c.service);
  } catch {
    // completion is a convenience: the configured names are still right
  }
  return matching(names, prefix);
}

/** Backup ids for completion, newest first as list_backups gives them (local repository). */
export async function completeBackupId(ctx: ToolContext, prefix: string): Promise<string[]> {
  try {
    const { backups } = await invokeTool(listBackups, ctx, {});
    return backups
      .filter((b) => b.state === 'complete' && b.id.toLowerCase().startsWith(prefix.toLowerCase()))
      .map((b) => b.id)
      .slice(0, MAX);
  } catch {
    return [];
  }
}
