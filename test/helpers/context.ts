import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import type { ToolContext } from '../../src/tools/context.js';

/** A real tool context (real engine) for calling tools in-process from tests. */
export function testContext(
  project: string,
  signal: AbortSignal = new AbortController().signal,
): ToolContext {
  const config = loadConfig({ env: {}, project });
  return {
    docker: new DockerAdapter({ timeoutMs: config.docker.timeout }),
    config,
    project,
    principal: { id: 'test', surface: 'internal' },
    signal,
    progress: () => {},
    logger: createLogger('silent'),
  };
}
