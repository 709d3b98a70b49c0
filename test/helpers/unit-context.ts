import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import { createSafety } from '../../src/safety/index.js';
import type { ToolContext } from '../../src/tools/context.js';

/**
 * A tool context for unit tests of the change path: real config, safety (audit, approvals, lock)
 * in a fresh state dir, a local CLI principal; `docker` and the rest as the test gives them.
 */
export function unitContext(extra: Omit<Partial<ToolContext>, 'docker'> & { docker: unknown }): ToolContext {
  const config = loadConfig({
    env: { DOOM_OPS_STATE_DIR: mkdtempSync(join(tmpdir(), 'doomunit-')) },
    project: 'p',
  });
  return {
    project: 'p',
    config,
    safety: createSafety(config),
    principal: { id: 'cli:test', surface: 'cli' },
    signal: new AbortController().signal,
    progress: () => {},
    logger: createLogger('silent'),
    tools: [],
    ...extra,
  } as unknown as ToolContext;
}
