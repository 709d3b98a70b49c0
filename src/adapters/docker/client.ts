import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { ToolError } from '../../errors.js';
import { mapLimit, sleep } from '../../util/concurrency.js';
import { Demuxer } from './demux.js';
import { DockerClient } from './dockerode-deferred.js';
import { describeEngine, type EngineName, engineError, notDockerEngine } from './endpoint.js';
import { parseEvent } from './event-stream.js';
import { composeIdentity, containerName, LABEL } from './labels.js';
import { LineSplitter, splitTimestamp } from './line-splitter.js';
import { secretEnvValues } from './secret-env.js';
import type { ContainerStateCache } from './state-cache.js';
import type { RawStats } from './stats-math.js';
import type {
  ContainerDetail,
  EngineEvent,
  ExecResult,
  LogLine,
  ProcessList,
  StackContainer,
  StackVolume,
} from './types.js';
import { wiring } from './wiring.js';

export interface DockerAdapterOptions {
  /** Each Engine API call (or whole log/event read) gives up after this long. */
  timeoutMs: number;
  docker?: Docker;
  /** Another engine than DOCKER_HOST's (a swarm node's): how errors name it and what to fix. */
  name?: EngineName;
}

export interface LogReadOptions {
  tail?: number;
  /** Unix seconds. */
  since?: number;
  until?: number;
  tty?: boolean;
  signal?: AbortSignal;
  /** Deadline for the whole read (default: the adapter's call timeout); exports of long windows need more. */
  timeoutMs?: number;
  /** `service`: `id` is a Swarm service (its logs from a manager, each line with its task). */
  of?: 'container' | 'service';
}

const INSPECT_CONCURRENCY = 16;
/** The label a create carries so that what it made can be found when its answer never came. */
const CREATE_LABEL = 'doom-ops.create';
/** Deadline of each clean-up call after a create went wrong. */
const SWEEP_TIMEOUT_MS = 5000;
/** Socket errors of a request that never reached the engine. */
const NEVER_REACHED = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EHOSTUNREACH', 'ENOTFOUND']);
const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * The only code that talks to the Docker Engine. Every call has a deadline and honours the
 * caller's abort signal; failures become ToolErrors naming the engine and what to check.
 */
export class DockerAdapter {
  readonly docker: Docker;
  readonly timeoutMs: number;
  /** The engine's answer to GET /version, read once: proof that the endpoint is a Docker Engine API. */
  private identity: Promise<{ version: string; apiVersion: string }> | undefined;
  private sameHost: Promise<string | null> | undefined;
  private stateCache: ContainerStateCache | undefined;
  private runtimeNames: Promise<string[]> | undefined;

  private readonly name: EngineName | undefined;

  constructor(options: DockerAdapterOptions) {
    this.timeoutMs = options.timeoutMs;
    this.name = options.name;
    // dockerode reads DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH itself, as the docker CLI does.
    this.docker = options.docker ?? new DockerClient();
  }

  get engine(): string {
    return this.name?.engine ?? describeEngine();
  }

  /**
   * Whether paths the engine reports (a volume's Mountpoint) are this host's paths with the
   * engine's own file owners: null when they are, otherwise why not. They are when the engine is
   * reached through a unix socket (DOCKER_HOST unset or unix://), it calls its host by this host's
   * name (a socket forwarded from another machine, or doom-ops in a container, reports another
   * name), and it is neither rootless nor remapping user namespaces (its files' owners would not be
   * the owners the engine restores). Read once from GET /info; a 4xx answer to it (a socket proxy
   * that does not allow it) is a reason, other failures throw DockerError.
   */
  async sameHostAccess(signal?: AbortSignal): Promise<string | null> {
    // docker-modem keeps a unix socket's path, or a function finding the default socket; nothing for tcp/ssh.
    if (!(this.docker.modem as { socketPath?: unknown }).socketPath)
      return 'the engine is not reached through a local socket';
    this.sameHost ??= this.call('read engine info', signal, (s) =>
      // dockerode's info(opts) takes abortSignal; its typings only know info().
      (this.docker.info as unknown as (o: object) => Promise<unknown>)({ abortSignal: s }),
    ).then(
      (raw) => {
        const info = raw as { Name?: string; SecurityOptions?: string[] };
        if (info.Name !== hostname())
          return `the engine's host is ${info.Name ?? 'unnamed'}, not this host (${hostname()})`;
        const security = (info.SecurityOptions ?? []).join(' ');
        if (/name=rootless/.test(security)) return 'the engine is rootless (its files have mapped owners)';
        if (/name=userns/.test(security))
          return 'the engine remaps user namespaces (its files have mapped owners)';
        return null;
      },
      (err: unknown) => {
        // A socket proxy that refuses GET /info answers with an HTTP status: stream through the engine.
        const status = (err as { statusCode?: unknown }).statusCode;
        if (typeof status === 'number' && status >= 400 && status < 500)
          return `the engine refused GET /info (HTTP ${status}), so its paths cannot be checked`;
        this.sameHost = undefined;
        throw err;
      },
    );
    return this.sameHost;
  }

  /**
   * The DOCKER_HOST naming this engine for the docker CLI (unix://…, tcp://host:port, ssh://…),
   * from the client's own connection settings; the environment's DOCKER_HOST (or the default
   * socket) when the client finds its socket itself. TLS settings stay in the environment.
   */
  get dockerHost(): string {
    const m = this.docker.modem as {
      socketPath?: unknown;
      host?: string;
      port?: string | number;
      protocol?: string;
      username?: string;
    };
    if (typeof m.socketPath === 'string') return `unix://${m.socketPath}`;
    if (m.host && m.protocol === 'ssh')
      return `ssh://${m.username ? `${m.username}@` : ''}${m.host}${m.port ? `:${m.port}` : ''}`;
    if (m.host) return `tcp://${m.host}:${m.port ?? 2375}`;
    return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  }

  /** The engine's registered runtimes (GET /info Runtimes: runc, nvidia, …), read once per adapter. Errors: the engine's. */
  async runtimes(signal?: AbortSignal): Promise<string[]> {
    this.runtimeNames ??= this.call('read engine info', signal, (s) =>
      (this.docker.info as unknown as (o: object) => Promise<unknown>)({ abortSignal: s }),
    ).then((raw) => Object.keys((raw as { Runtimes?: Record<string, unknown> }).Runtimes ?? {}).sort());
    this.runtimeNames.catch(() => {
      this.runtimeNames = undefined;
    });
    return this.runtimeNames;
  }

  /** The engine's CPU count (GET /info NCPU). Errors: the engine's (DockerError as ToolError). */
  async cpuCount(signal?: AbortSignal): Promise<number> {
    const info = (await this.call('read engine info', signal, (s) =>
      (this.docker.info as unknown as (o: object) => Promise<unknown>)({ abortSignal: s }),
    )) as { NCPU?: number };
    if (typeof info.NCPU !== 'number')
      throw new ToolError(
        'upstream_unavailable',
        'the engine did not say how many CPUs it has (GET /info NCPU)',
      );
    return info.NCPU;
  }

  /** Runs `fn` with a signal that fires on the caller's abort or on the deadline. */
  async call<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    let onAbort: (() => void) | undefined;
    // Race the abort as well: a library that ignores the signal must not hold the caller past its deadline.
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(combined.reason);
      if (combined.aborted) onAbort();
      else combined.addEventListener('abort', onAbort, { once: true });
    });
    try {
      // Before the first call: is this a Docker Engine at all? (A web server on DOCKER_HOST would
      // otherwise answer 404s, or 200 HTML that reads as an empty stack.) Errors reaching it are
      // reported with this call's `what`.
      return await Promise.race([this.identify(combined).then(() => fn(combined)), aborted]);
    } catch (err) {
      throw engineError(err, what, {
        timeoutMs,
        timedOut: deadline.aborted,
        cancelled: Boolean(signal?.aborted),
        ...(this.name ? { name: this.name } : {}),
      });
    } finally {
      if (onAbort) combined.removeEventListener('abort', onAbort);
      aborted.catch(() => {});
    }
  }

  /**
   * POST /containers/create that never loses what it created. A create is not cut off by the
   * caller's cancel (the engine may carry out a request whose connection was dropped, leaving a
   * container, and its name, behind that nobody knows the id of): it runs to its answer, bounded by
   * the deadline, and if the caller cancelled meanwhile the new container is removed and a
   * `cancelled` ToolError thrown. Each create carries a label of its own (`doom-ops.create`, a
   * random value): when it gets no answer from the engine (the deadline passed, the connection
   * broke), containers with that label are looked for and removed, three times over about four
   * seconds (the engine may still be making it). Returns the dockerode Container. Errors: as
   * call() (409 `conflict` when the name is taken).
   */
  async createContainer(
    what: string,
    signal: AbortSignal | undefined,
    options: { name?: string; Labels?: Record<string, string> } & Record<string, unknown>,
  ): Promise<Docker.Container> {
    const nonce = randomBytes(8).toString('hex');
    const labelled = { ...options, Labels: { ...(options.Labels ?? {}), [CREATE_LABEL]: nonce } };
    let created: Docker.Container;
    try {
      created = await this.call(what, undefined, (s) =>
        this.docker.createContainer({ ...labelled, abortSignal: s } as Docker.ContainerCreateOptions),
      );
    } catch (err) {
      // An HTTP status is the engine's answer (it made nothing), and a refused connection never
      // reached it; anything else (the deadline, a broken connection) may have made one.
      const cause = (err as { cause?: { statusCode?: unknown; code?: unknown } }).cause;
      if (typeof cause?.statusCode !== 'number' && !NEVER_REACHED.has(String(cause?.code)))
        await this.sweepCreated(nonce);
      throw err;
    }
    if (signal?.aborted) {
      await this.removeQuietly(created.id);
      throw new ToolError('cancelled', `${what}: cancelled`, { cause: signal.reason });
    }
    return created;
  }

  /** Removes what a create that got no answer may have made (its own label), looking three times. */
  private async sweepCreated(nonce: string): Promise<void> {
    for (const wait of [0, 1000, 3000]) {
      await sleep(wait);
      const found = await this.call(
        'find what a create left',
        undefined,
        (s) =>
          this.docker.listContainers({
            all: true,
            filters: { label: [`${CREATE_LABEL}=${nonce}`] },
            abortSignal: s,
          } as object),
        Math.min(this.timeoutMs, SWEEP_TIMEOUT_MS),
      ).catch(() => []);
      for (const c of found) await this.removeQuietly(c.Id);
      if (found.length) return;
    }
  }

  /** DELETE /containers/{id}?force&v within a short deadline; failures are ignored (already gone). */
  private async removeQuietly(id: string): Promise<void> {
    await this.call(
      `remove ${id.slice(0, 12)}`,
      undefined,
      (s) => this.docker.getContainer(id).remove({ force: true, v: true, abortSignal: s } as object),
      Math.min(this.timeoutMs, SWEEP_TIMEOUT_MS),
    ).catch(() => undefined);
  }

  /** The image's id if the engine has it locally, undefined if not (doom-ops never pulls). */
  async imageId(ref: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const info = await this.call(`inspect image ${ref}`, signal, (s) =>
        this.docker.getImage(ref).inspect({ abortSignal: s } as object),
      );
      return info.Id;
    } catch (err) {
      if (err instanceof ToolError && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  /**
   * The engine's version and API version (GET /version, read once per adapter). Throws a ToolError
   * (upstream_unavailable) when the endpoint cannot be reached or answers but is not a Docker Engine API.
   */
  async version(signal?: AbortSignal): Promise<{ version: string; apiVersion: string }> {
    return this.call('read the engine version', signal, (s) => this.identify(s));
  }

  /**
   * GET /version once per adapter (again after a failure): a Docker Engine answers JSON with
   * ApiVersion and Version. An HTTP error without the engine's JSON error body, or a 200 that is not
   * that JSON, is another kind of server: a ToolError naming DOCKER_HOST. Network errors are
   * thrown as they are, for call() to report.
   */
  private identify(signal: AbortSignal): Promise<{ version: string; apiVersion: string }> {
    if (!this.identity) {
      const p = (async () => {
        let v: unknown;
        try {
          v = await (this.docker.version as (o: object) => Promise<unknown>)({ abortSignal: signal });
        } catch (err) {
          const e = err as { statusCode?: unknown; json?: unknown; message?: string };
          const dockerBody = typeof (e.json as { message?: unknown })?.message === 'string';
          if (typeof e.statusCode === 'number' && !dockerBody)
            throw notDockerEngine(`HTTP ${e.statusCode}`, e.json ?? e.message, err, this.name);
          throw err;
        }
        const ver = v as { ApiVersion?: unknown; Version?: unknown } | null;
        if (typeof ver?.ApiVersion !== 'string' || typeof ver.Version !== 'string')
          throw notDockerEngine('HTTP 200', v, undefined, this.name);
        return { version: ver.Version, apiVersion: ver.ApiVersion };
      })();
      this.identity = p;
      p.catch(() => {
        if (this.identity === p) this.identity = undefined;
      });
    }
    return this.identity;
  }

  private async engineApiVersion(signal?: AbortSignal): Promise<string> {
    return (await this.version(signal)).apiVersion;
  }

  /** Every container Compose created for `project` (all states), one-off `run` containers included. */
  async listStack(project: string, signal?: AbortSignal): Promise<StackContainer[]> {
    const list = await this.call('list containers', signal, (s) =>
      this.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL.project}=${project}`] },
        abortSignal: s,
      }),
    );
    const containers: StackContainer[] = [];
    for (const c of list) {
      const id = composeIdentity(c.Labels);
      if (!id) continue;
      containers.push({
        id: c.Id,
        name: containerName(c.Names),
        project: id.project,
        service: id.service,
        number: id.number,
        oneoff: id.oneoff,
        state: c.State,
        status: c.Status,
        image: c.Image,
        createdAt: new Date(c.Created * 1000).toISOString(),
        labels: c.Labels ?? {},
      });
    }
    return containers.sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number);
  }

  /**
   * The project's named volumes as Compose labels them (GET /volumes filtered by
   * com.docker.compose.project, and com.docker.compose.volume=`key` when given): the engine's name,
   * the Compose key, driver, driver options and Mountpoint (a path on the engine's host). Sorted by key.
   */
  async stackVolumes(project: string, signal?: AbortSignal, key?: string): Promise<StackVolume[]> {
    const { Volumes } = await this.call('list volumes', signal, (s) =>
      this.docker.listVolumes({
        filters: {
          label: [`${LABEL.project}=${project}`, ...(key === undefined ? [] : [`${LABEL.volume}=${key}`])],
        },
        abortSignal: s,
      } as object),
    );
    return (Volumes ?? [])
      .filter((v) => v.Name && v.Labels?.[LABEL.volume])
      .map((v) => ({
        name: v.Name,
        key: v.Labels[LABEL.volume]!,
        driver: v.Driver,
        options: v.Options ?? {},
        mountpoint: v.Mountpoint,
      }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  /**
   * Serve container inspects from `cache` (state-cache.ts) while it is live: `serve` follows the
   * engine's events into it, so N identical inspects are one. Undefined turns it off.
   */
  useStateCache(cache: ContainerStateCache | undefined): void {
    this.stateCache = cache;
  }

  /** Whether inspects may come from a state cache. */
  get cachesState(): boolean {
    return this.stateCache !== undefined;
  }

  /** Drops what the state cache holds (a change starts or ends); no-op without one. */
  forgetState(): void {
    this.stateCache?.invalidate();
  }

  /**
   * This adapter without its state cache, for a change: what a change decides (which services
   * are running, what it just started) comes from the engine itself, never from memory.
   */
  withoutStateCache(): DockerAdapter {
    if (!this.stateCache) return this;
    const view = Object.create(this) as DockerAdapter;
    view.stateCache = undefined;
    return view;
  }

  /**
   * One container as the engine holds it (GET /containers/{id}/json), as plain data; from the
   * state cache when one is live and holds it. Throws a ToolError (not_found for an unknown id).
   */
  async inspect(id: string, signal?: AbortSignal): Promise<ContainerDetail> {
    const cache = this.stateCache;
    const hit = cache?.get(id);
    if (hit) return hit;
    const ticket = cache?.ticket(id);
    const detail = await this.inspectEngine(id, signal);
    if (cache && ticket) cache.put(id, detail, ticket);
    return detail;
  }

  private async inspectEngine(id: string, signal?: AbortSignal): Promise<ContainerDetail> {
    const info = await this.call(`inspect container ${id.slice(0, 12)}`, signal, (s) =>
      this.docker.getContainer(id).inspect({ abortSignal: s }),
    );
    const st = info.State;
    const hc = info.Config.Healthcheck as
      | { Test?: string[]; Interval?: number; StartPeriod?: number; Retries?: number }
      | undefined;
    const identity = composeIdentity(info.Config.Labels);
    const health = st.Health as
      | {
          Status: string;
          FailingStreak: number;
          Log?: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
        }
      | undefined;
    return {
      id: info.Id,
      name: containerName(info.Name),
      service: identity?.service,
      number: identity?.number ?? 0,
      image: info.Config.Image,
      createdAt: info.Created,
      state: {
        status: st.Status,
        running: st.Running,
        restarting: st.Restarting,
        paused: st.Paused,
        oomKilled: st.OOMKilled,
        exitCode: st.ExitCode,
        error: st.Error ?? '',
        startedAt: st.StartedAt && st.StartedAt !== ZERO_TIME ? st.StartedAt : null,
        finishedAt: st.FinishedAt && st.FinishedAt !== ZERO_TIME ? st.FinishedAt : null,
        pid: st.Pid,
      },
      health: health
        ? {
            status: health.Status,
            failingStreak: health.FailingStreak,
            log: (health.Log ?? []).map((p) => ({
              start: p.Start,
              end: p.End,
              exitCode: p.ExitCode,
              output: p.Output,
            })),
          }
        : null,
      healthcheck:
        hc?.Test && hc.Test[0] !== 'NONE'
          ? {
              test: hc.Test,
              intervalNs: hc.Interval ?? 0,
              startPeriodNs: hc.StartPeriod ?? 0,
              retries: hc.Retries ?? 0,
            }
          : null,
      restartCount: info.RestartCount,
      restartPolicy: {
        name: info.HostConfig.RestartPolicy?.Name || 'no',
        maximumRetryCount: info.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0,
      },
      memoryLimitBytes: info.HostConfig.Memory ? info.HostConfig.Memory : null,
      nanoCpus: info.HostConfig.NanoCpus ? info.HostConfig.NanoCpus : null,
      cpuset: info.HostConfig.CpusetCpus || null,
      pidsLimit:
        info.HostConfig.PidsLimit && info.HostConfig.PidsLimit > 0 ? info.HostConfig.PidsLimit : null,
      logConfig: {
        driver: info.HostConfig.LogConfig?.Type || 'json-file',
        options: (info.HostConfig.LogConfig?.Config as Record<string, string> | undefined) ?? {},
      },
      tty: Boolean(info.Config.Tty),
      readOnlyRootfs: Boolean(info.HostConfig.ReadonlyRootfs),
      networkMode: info.HostConfig.NetworkMode ?? 'default',
      user: info.Config.User ?? '',
      stopTimeoutS: (info.Config as { StopTimeout?: number }).StopTimeout ?? null,
      secretValues: secretEnvValues(info.Config.Env),
      envNames: (info.Config.Env ?? []).map((e) => e.split('=')[0]!),
      emptyEnv: (info.Config.Env ?? [])
        .filter((e) => /^[^=]+=$/.test(e) || !e.includes('='))
        .map((e) => e.split('=')[0]!),
      labels: info.Config.Labels ?? {},
      gpu: gpuOf(info),
      logPath: info.LogPath || null,
      ...wiring(info),
    };
  }

  inspectMany(ids: readonly string[], signal?: AbortSignal): Promise<ContainerDetail[]> {
    return mapLimit(ids, INSPECT_CONCURRENCY, (id) => this.inspect(id, signal));
  }

  /**
   * One stats reading. The engine publishes stats once per collector tick (1 s), so CPU % needs
   * two ticks: `withCpu` asks for the classic sample (engine primes precpu, ~1-2 s); without it,
   * API >= 1.41 `one-shot` returns the next tick's reading alone (memory, IO, PIDs; <= ~1 s).
   */
  async statsSample(id: string, options: { withCpu: boolean; signal?: AbortSignal }): Promise<RawStats> {
    const oneShot = !options.withCpu && compareApi(await this.engineApiVersion(options.signal), '1.41') >= 0;
    const sample = await this.call(`read stats of ${id.slice(0, 12)}`, options.signal, (s) =>
      (this.docker.getContainer(id).stats as (o: object) => Promise<Docker.ContainerStats>)({
        stream: false,
        ...(oneShot ? { 'one-shot': true } : {}),
        abortSignal: s,
      }),
    );
    return sample as unknown as RawStats;
  }

  /**
   * The live processes of a running container as the host's ps lists them (GET /containers/{id}/top
   * with `psArgs`, e.g. "-eLo pid,lwp,stat" for one row per thread). Zombies are not listed.
   */
  async top(id: string, psArgs: string, signal?: AbortSignal): Promise<ProcessList> {
    const r = (await this.call(`list processes of ${id.slice(0, 12)}`, signal, (s) =>
      (this.docker.getContainer(id).top as (o: object) => Promise<unknown>)({
        ps_args: psArgs,
        abortSignal: s,
      }),
    )) as { Titles?: string[]; Processes?: string[][] | null };
    return { titles: r.Titles ?? [], processes: r.Processes ?? [] };
  }

  /**
   * Streams a container's log as lines, demultiplexed, without buffering the whole log (dockerode's
   * own logs() buffers everything when not following). Stops at `until`, or when the consumer stops.
   */
  async *logLines(id: string, options: LogReadOptions = {}): AsyncGenerator<LogLine> {
    const deadline = AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const service = options.of === 'service';
    const query: Record<string, unknown> = { stdout: true, stderr: true, timestamps: true, follow: false };
    // A Swarm service's logs (GET /services/{id}/logs, from a manager): details say which task.
    if (service) query.details = true;
    if (options.tail !== undefined) query.tail = options.tail;
    if (options.since !== undefined) query.since = options.since;
    if (options.until !== undefined) query.until = options.until;
    const res = await this.call(
      `read logs of ${id.slice(0, 12)}`,
      options.signal,
      () =>
        new Promise<IncomingMessage>((resolve, reject) => {
          this.docker.modem.dial(
            {
              path: `/${service ? 'services' : 'containers'}/${id}/logs?`,
              method: 'GET',
              isStream: true,
              abortSignal: signal,
              statusCodes: {
                200: true,
                404: service ? 'no such service' : 'no such container',
                500: 'server error',
                503: 'node is not a swarm manager',
              },
              options: query,
            },
            (err: unknown, stream: unknown) => (err ? reject(err) : resolve(stream as IncomingMessage)),
          );
        }),
    );
    const demux = options.tty ? undefined : new Demuxer();
    const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    const emit = (stream: 'stdout' | 'stderr', raw: string): LogLine => {
      const line: LogLine = { stream, ...splitTimestamp(raw) };
      if (!service) return line;
      // "com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=… text"
      const m = /^((?:[\w.%-]+=[^,\s]*,?)+) ?(.*)$/s.exec(line.text);
      if (!m) return line;
      const attrs = Object.fromEntries(m[1]!.split(',').map((kv) => kv.split('=', 2) as [string, string]));
      return {
        ...line,
        text: m[2]!,
        task: attrs['com.docker.swarm.task.id'],
        nodeId: attrs['com.docker.swarm.node.id'],
      };
    };
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        const frames = demux ? demux.push(chunk) : [{ stream: 'stdout' as const, data: chunk }];
        for (const frame of frames) {
          const stream = frame.stream === 'stderr' ? 'stderr' : 'stdout';
          for (const raw of splitters[stream].push(frame.data)) yield emit(stream, raw);
        }
      }
      for (const stream of ['stdout', 'stderr'] as const)
        for (const raw of splitters[stream].flush()) yield emit(stream, raw);
    } catch (err) {
      throw engineError(err, `read logs of ${id.slice(0, 12)}`, {
        timeoutMs: this.timeoutMs,
        timedOut: deadline.aborted,
        cancelled: Boolean(options.signal?.aborted),
        ...(this.name ? { name: this.name } : {}),
      });
    } finally {
      res.destroy();
    }
  }

  /** Engine events in a closed window (since/until in unix seconds), at most `max` of them. */
  async events(options: {
    since: number;
    until: number;
    filters?: Record<string, string[]>;
    max?: number;
    signal?: AbortSignal;
  }): Promise<EngineEvent[]> {
    const max = options.max ?? 5000;
    return this.call('read engine events', options.signal, async (s) => {
      const stream = (await this.docker.getEvents({
        since: options.since,
        until: options.until,
        filters: options.filters ?? {},
        abortSignal: s,
      })) as unknown as IncomingMessage;
      const events: EngineEvent[] = [];
      const splitter = new LineSplitter(65_536);
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          for (const line of splitter.push(chunk)) {
            if (!line.trim()) continue;
            events.push(parseEvent(line));
            if (events.length >= max) return events;
          }
        }
      } finally {
        stream.destroy();
      }
      return events;
    });
  }

  /** Runs argv inside a running container (no shell), capturing at most `maxOutput` bytes per stream. */
  async exec(
    id: string,
    argv: string[],
    options: { signal?: AbortSignal; timeoutMs?: number; maxOutput?: number; user?: string } = {},
  ): Promise<ExecResult> {
    const maxOutput = options.maxOutput ?? 65_536;
    return this.call(
      `exec in ${id.slice(0, 12)}`,
      options.signal,
      async (s) => {
        const exec = await this.docker.getContainer(id).exec({
          Cmd: argv,
          AttachStdout: true,
          AttachStderr: true,
          ...(options.user ? { User: options.user } : {}),
          abortSignal: s,
        });
        const stream = (await exec.start({
          hijack: true,
          stdin: false,
          abortSignal: s,
        })) as unknown as Duplex;
        const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
        const size = { stdout: 0, stderr: 0 };
        let truncated = false;
        const demux = new Demuxer();
        s.addEventListener('abort', () => stream.destroy(), { once: true });
        await new Promise<void>((resolve, reject) => {
          stream.on('data', (chunk: Buffer) => {
            for (const f of demux.push(chunk)) {
              const key = f.stream === 'stderr' ? 'stderr' : 'stdout';
              const room = maxOutput - size[key];
              if (room <= 0) {
                truncated = true;
                continue;
              }
              const piece = f.data.length > room ? f.data.subarray(0, room) : f.data;
              truncated ||= piece.length < f.data.length;
              out[key].push(Buffer.from(piece));
              size[key] += piece.length;
            }
          });
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', reject);
        });
        const info = await exec.inspect({ abortSignal: s });
        return {
          exitCode: info.ExitCode ?? null,
          stdout: Buffer.concat(out.stdout).toString('utf8'),
          stderr: Buffer.concat(out.stderr).toString('utf8'),
          truncated,
        };
      },
      options.timeoutMs ?? this.timeoutMs,
    );
  }
}

/** Compares Engine API versions ("1.41" vs "1.9"): negative, zero or positive. */
export function compareApi(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/**
 * What a container asks of GPUs, as the engine holds it: HostConfig.DeviceRequests (Compose's
 * deploy.resources.reservations.devices, `--gpus`; Count -1 = all), HostConfig.Runtime, and
 * NVIDIA_VISIBLE_DEVICES from its environment. Null when it asks for none.
 */
function gpuOf(info: Docker.ContainerInspectInfo): ContainerDetail['gpu'] {
  type Request = {
    Driver?: string;
    Count?: number;
    DeviceIDs?: string[] | null;
    Capabilities?: string[][] | null;
  };
  const requests = ((info.HostConfig as { DeviceRequests?: Request[] | null }).DeviceRequests ?? []).map(
    (r) => ({
      driver: r.Driver || '',
      count: r.Count ?? 0,
      deviceIds: r.DeviceIDs ?? [],
      capabilities: [...new Set((r.Capabilities ?? []).flat())],
    }),
  );
  // runc is the engine's default: only another runtime (nvidia) says something.
  const named = (info.HostConfig as { Runtime?: string }).Runtime;
  const runtime = named && named !== 'runc' ? named : null;
  const visible =
    (info.Config.Env ?? [])
      .find((e) => e.startsWith('NVIDIA_VISIBLE_DEVICES='))
      ?.slice('NVIDIA_VISIBLE_DEVICES='.length) ?? null;
  if (requests.length === 0 && runtime !== 'nvidia') return null;
  return { requests, runtime, visibleDevices: visible };
}
