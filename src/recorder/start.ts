import type { DockerAdapter } from '../adapters/docker/client.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { EventStore } from './event-store.js';
import { EventRecorder } from './recorder.js';

/** A recorder for the configured project, started; undefined when another process already records it. */
export async function startRecorder(deps: {
  config: Config;
  docker: DockerAdapter;
  logger: Logger;
}): Promise<EventRecorder | undefined> {
  const { config, docker, logger } = deps;
  const store = EventStore.forProject(config.stateDir, config.project, config.recorder.maxBytes);
  const recorder = new EventRecorder({
    docker,
    store,
    project: config.project,
    logger,
    kind: config.stack?.kind ?? 'auto',
  });
  return (await recorder.start()) ? recorder : undefined;
}
