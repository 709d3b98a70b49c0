import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ToolContext } from '../context.js';

/**
 * The image new replicas of a service start on, when it differs from the one its running replicas
 * were created with. The handbook's agent image update: running agents keep their image, agents
 * added later (scale_agents, scale_service) use the new one. Kept per project under
 * <stateDir>/images/<project>.json so every doom-ops process and surface sees the same choice.
 */
export interface ImageOverride {
  image: string;
  previous: string | null;
  setAt: string;
  by: string;
}

function fileOf(ctx: ToolContext): string {
  const dir = isAbsolute(ctx.config.stateDir) ? ctx.config.stateDir : resolve(ctx.config.stateDir);
  return join(dir, 'images', `${ctx.project}.json`);
}

function readAll(ctx: ToolContext): Record<string, ImageOverride> {
  try {
    return JSON.parse(readFileSync(fileOf(ctx), 'utf8')) as Record<string, ImageOverride>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

export function imageOverride(ctx: ToolContext, service: string): ImageOverride | undefined {
  return readAll(ctx)[service];
}

export function setImageOverride(ctx: ToolContext, service: string, override: ImageOverride): void {
  const file = fileOf(ctx);
  mkdirSync(join(file, '..'), { recursive: true });
  const all = { ...readAll(ctx), [service]: override };
  // Write-then-rename: a reader in another process never sees half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(tmp, file);
}
