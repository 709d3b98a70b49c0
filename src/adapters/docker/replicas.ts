import type { DockerAdapter } from './client.js';
import { composeIdentity, containerName, LABEL } from './labels.js';

/**
 * Creates replica `number` of a service from an existing replica, the way Compose does: same
 * configuration and labels (config hash included, so Compose treats it as up to date), the
 * container number label and name changed (v1 `proj_svc_N` or v2 `proj-svc-N`, following the
 * source), the same networks with the service's aliases, the same volumes (named volumes shared,
 * anonymous ones fresh, as Compose gives a new replica), the same limits and restart policy.
 */
export async function cloneReplica(
  adapter: DockerAdapter,
  sourceId: string,
  number: number,
  signal?: AbortSignal,
  /**
   * update_service: a different image for the new replica (everything else as the source), and the
   * name to give it when the source was renamed out of the way.
   */
  overrides: { image?: string; name?: string } = {},
): Promise<{ id: string; name: string }> {
  const docker = adapter.docker;
  const src = await adapter.call(`inspect ${sourceId.slice(0, 12)}`, signal, (s) =>
    docker.getContainer(sourceId).inspect({ abortSignal: s }),
  );
  const id = composeIdentity(src.Config.Labels);
  if (!id) throw new Error(`container ${sourceId} is not a Compose replica`);
  const srcName = containerName(src.Name);
  const sep = srcName === `${id.project}_${id.service}_${id.number}` ? '_' : '-';
  const name = overrides.name ?? [id.project, id.service, number].join(sep);
  const shortId = src.Id.slice(0, 12);

  const config: Record<string, unknown> = {
    ...src.Config,
    Labels: { ...src.Config.Labels, [LABEL.number]: String(number) },
    ...(overrides.image ? { Image: overrides.image } : {}),
  };
  // The engine defaults the hostname to the container's short id: a copy would impersonate the source.
  if (src.Config.Hostname === shortId) delete config.Hostname;
  const aliases = (list: string[] | null | undefined): string[] => [
    ...new Set([
      id.service,
      ...(list ?? []).filter((a) => a !== shortId && a !== src.Config.Hostname && a !== srcName),
    ]),
  ];
  const networks = Object.entries(src.NetworkSettings.Networks ?? {});
  const [first, ...rest] = networks;
  // The engine takes aliases only on user-defined networks (not host, none or the default bridge).
  const endpoint = (net: string, list: string[] | null | undefined) =>
    ['host', 'none', 'bridge'].includes(net) ? {} : { Aliases: aliases(list) };
  const options = {
    ...config,
    name,
    HostConfig: src.HostConfig,
    // Older APIs accept one network at create; the others are connected below.
    NetworkingConfig: first
      ? { EndpointsConfig: { [first[0]]: endpoint(first[0], first[1].Aliases) } }
      : undefined,
  };
  const created = await adapter.createContainer(`create ${name}`, signal, options);
  try {
    for (const [net, ep] of rest) {
      await adapter.call(`connect ${name} to ${net}`, signal, (s) =>
        withOptions(docker.getNetwork(net), 'connect', {
          Container: created.id,
          EndpointConfig: endpoint(net, ep.Aliases),
          abortSignal: s,
        }),
      );
    }
    await adapter.call(`start ${name}`, signal, (s) => withOptions(created, 'start', { abortSignal: s }));
  } catch (err) {
    // Never leave a half-made replica behind for Compose to trip over.
    await docker
      .getContainer(created.id)
      .remove({ force: true, v: true })
      .catch(() => {});
    throw err;
  }
  return { id: created.id, name };
}

/**
 * `docker stop`: SIGTERM, then SIGKILL after `stopTimeoutS` (undefined: the container's own
 * setting, with a two-minute deadline). `alreadyStoppedOk` accepts the engine's 304.
 */
export async function stopContainer(
  adapter: DockerAdapter,
  id: string,
  opts: { label?: string; stopTimeoutS?: number; signal?: AbortSignal; alreadyStoppedOk?: boolean } = {},
): Promise<void> {
  const c = adapter.docker.getContainer(id);
  const t = opts.stopTimeoutS;
  await adapter.call(
    `stop ${opts.label ?? id.slice(0, 12)}`,
    opts.signal,
    (s) => {
      const p = withOptions(c, 'stop', t === undefined ? { abortSignal: s } : { t, abortSignal: s });
      return opts.alreadyStoppedOk ? p.catch(notModified) : p;
    },
    t === undefined ? 120_000 : (t + 15) * 1000,
  );
}

/**
 * Graceful stop (the container's own stop timeout, as Compose uses), then removal. Named volumes
 * are always kept. `anonymousVolumes: 'remove'` (the engine's `v=1`) deletes the container's
 * anonymous volumes with it: a replica that goes away for good (scale-down, a failed new replica)
 * would otherwise leave them behind on the engine, referenced by nothing.
 */
export async function stopAndRemove(
  adapter: DockerAdapter,
  id: string,
  stopTimeoutS: number | undefined,
  signal?: AbortSignal,
  anonymousVolumes: 'remove' | 'keep' = 'remove',
): Promise<void> {
  const c = adapter.docker.getContainer(id);
  await stopContainer(adapter, id, { stopTimeoutS: stopTimeoutS ?? 10, signal, alreadyStoppedOk: true });
  await adapter.call(`remove ${id.slice(0, 12)}`, signal, (s) =>
    withOptions(c, 'remove', { v: anonymousVolumes === 'remove', abortSignal: s }),
  );
}

/** 304 from stop means it was already stopped: fine. */
function notModified(err: { statusCode?: number }): void {
  if (err.statusCode !== 304) throw err;
}

/** Calls a dockerode method in its promise form with an options object (its typings pick the callback overload). */
function withOptions<T extends object>(target: T, method: keyof T, options: object): Promise<unknown> {
  return (target[method] as unknown as (o: object) => Promise<unknown>).call(target, options);
}

/** `docker restart` with the given stop timeout (seconds) before SIGKILL. */
export async function restartContainer(
  adapter: DockerAdapter,
  id: string,
  stopTimeoutS: number,
  signal?: AbortSignal,
): Promise<void> {
  const c = adapter.docker.getContainer(id);
  await adapter.call(
    `restart ${id.slice(0, 12)}`,
    signal,
    (s) => withOptions(c, 'restart', { t: stopTimeoutS, abortSignal: s }),
    (stopTimeoutS + 15) * 1000,
  );
}

/**
 * Runs `work` with the given containers stopped, and starts them again afterwards whatever
 * happened (a failed restore must not leave a service down that was up before).
 */
export async function whileStopped<T>(
  adapter: DockerAdapter,
  containers: Array<{ id: string; name: string }>,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const stopped: typeof containers = [];
  try {
    for (const c of containers) {
      // Pushed first: a container that is stopped already (left so by an interrupted run) is started after too.
      stopped.push(c);
      await stopContainer(adapter, c.id, { label: c.name, signal, alreadyStoppedOk: true });
    }
    return await work();
  } finally {
    for (const c of stopped) await startAgain(adapter, c);
  }
}

/**
 * Starts a container that something stopped, with a fresh deadline and never the caller's signal
 * (after a cancellation the service must come back); one already running is fine.
 */
export async function startAgain(adapter: DockerAdapter, c: { id: string; name: string }): Promise<void> {
  await adapter.call(`start ${c.name}`, undefined, (s) =>
    withOptions(adapter.docker.getContainer(c.id), 'start', { abortSignal: s }).catch(notModified),
  );
}
