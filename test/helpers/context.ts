import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { createSafety } from '../../src/safety/index.js';
import type { Principal, ToolContext } from '../../src/tools/context.js';
import { registry } from '../../src/tools/registry.js';

export interface TestContextOptions {
  signal?: AbortSignal;
  config?: Partial<Config>;
  stateDir?: string;
  principal?: Principal;
}

/** A real tool context (real engine) for calling tools in-process from tests. */
export function testContext(
  project: string,
  signal?: AbortSignal,
  config: Partial<Config> = {},
  options: TestContextOptions = {},
): ToolContext {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'doomstate-'));
  const full = { ...loadConfig({ env: { DOOM_OPS_STATE_DIR: stateDir }, project }), ...config };
  return {
    safety: createSafety(full),
    docker: new DockerAdapter({ timeoutMs: full.docker.timeout }),
    config: full,
    project,
    principal: options.principal ?? { id: 'test', surface: 'internal' },
    signal: signal ?? new AbortController().signal,
    progress: () => {},
    logger: createLogger('silent'),
    tools: registry,
  };
}
