import type { DockerAdapter } from '../adapters/docker/client.js';
import { ContainerStateCache, followStateEvents } from '../adapters/docker/state-cache.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { ToolRunner } from '../tools/runner.js';

export interface ServeWork {
  runner: ToolRunner;
  /** Absent when serve.stateCache is off. */
  cache?: ContainerStateCache;
  stop(): Promise<void>;
}

/**
 * How `serve` runs tool calls (config `serve.*`): one bounded worker pool with single flight for
 * every surface of the process, and container inspects served from memory while an engine event
 * stream keeps them current. `stop` ends the event stream and turns the cache off.
 */
export function startServeWork(deps: { config: Config; docker: DockerAdapter; logger: Logger }): ServeWork {
  const { workers, queue, stateCache } = deps.config.serve;
  const runner = new ToolRunner({ workers, queue, measureEventLoop: true });
  if (!stateCache) return { runner, stop: async () => runner.close() };
  const cache = new ContainerStateCache(deps.config.project);
  // A read started before a container's lifecycle event is not shared with callers after it.
  cache.onLifecycle = () => runner.advance();
  const abort = new AbortController();
  deps.docker.useStateCache(cache);
  const following = followStateEvents(deps.docker, cache, deps.logger, abort.signal);
  return {
    runner,
    cache,
    stop: async () => {
      abort.abort();
      await following;
      deps.docker.useStateCache(undefined);
      runner.close();
    },
  };
}
