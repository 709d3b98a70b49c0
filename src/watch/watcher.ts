import { randomBytes } from 'node:crypto';
import { LABEL } from '../adapters/docker/labels.js';
import type { EngineEvent } from '../adapters/docker/types.js';
import { NodeEngines } from '../adapters/swarm/nodes.js';
import type { JobDeps } from '../schedule/run-job.js';
import { internalContext, type ToolContext } from '../tools/context.js';
import { invokeTool } from '../tools/invoke.js';
import { stackKind } from '../tools/lib/stack-kind.js';
import { findTool, registry } from '../tools/registry.js';
import { formatBytes } from '../util/duration.js';
import { type Incident, type IncidentKind, IncidentStore, isMuted } from './incident-store.js';
import { CALLS, headlineKind, type IncidentNotifier } from './notifier.js';
import { SlidingWindowLimit } from './rate-limit.js';

/** A die soon after a kill/stop through the API is an operator's doing, not an incident. */
const INTENTIONAL_MS = 15_000;
/** Time for the stop event that follows an intentional die, and for the restart policy to act. */
const DIE_SETTLE_MS = 1500;

const TITLES: Record<IncidentKind, string> = {
  oom: 'OOM-killed',
  gave_up: 'restart policy gave up',
  restart_loop: 'restart loop',
  missing: 'critical service missing',
  unhealthy: 'unhealthy',
  disk: 'disk over threshold',
};

/**
 * Watches one stack for incidents (engine events from the recorder, plus periodic health and disk
 * checks), keeps them in the incident store, and tells the notifier: one message per incident,
 * edited as it goes on, recovery in its thread, at most watch.rateLimit calls per window (changes
 * that do not fit wait and are merged into the next edit). Every change runs in one queue, so
 * events and checks never race on an incident.
 */
export class IncidentWatcher {
  readonly store: IncidentStore;
  private readonly limit: SlidingWindowLimit;
  private readonly deaths = new Map<string, number[]>();
  private readonly lastSignal = new Map<string, number>();
  private readonly stoppedByApi = new Map<string, number>();
  private readonly missingSince = new Map<string, number>();
  private readonly oomAt = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly abort = new AbortController();
  private flushAt: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly startedAt: number;

  constructor(
    private readonly deps: JobDeps,
    private readonly notifier?: IncidentNotifier,
    private readonly now: () => number = Date.now,
  ) {
    const { watch, stateDir, project } = deps.config;
    this.store = new IncidentStore(stateDir, project);
    this.limit = new SlidingWindowLimit(watch.rateLimit.messages, watch.rateLimit.per, now);
    this.startedAt = now();
  }

  start(): void {
    const { checkEvery, diskEvery } = this.deps.config.watch;
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => this.serial(fn), ms);
      t.unref?.();
      this.timers.push(t);
    };
    every(checkEvery, () => this.checkServices());
    every(diskEvery, () => this.checkDisks());
    this.serial(() => this.checkServices());
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.flushAt) clearTimeout(this.flushAt);
    this.abort.abort();
    await this.queue;
  }

  /** Called with every recorded engine event of the project. */
  onEvent(e: EngineEvent): void {
    const at = Date.parse(e.time);
    // The recorder replays history on start; only what happens from now on is news.
    if (at < this.startedAt - 2000) return;
    // A Swarm stack's task that failed (the recorder's task events): a death, as a die is on Compose.
    if (e.type === 'task') {
      const svc = e.attributes.service;
      if (svc && (e.action === 'failed' || e.action === 'rejected'))
        this.serial(() => this.onTaskDeath(svc, e, at));
      return;
    }
    const service = e.attributes[LABEL.service];
    if (!service || /^true$/i.test(e.attributes[LABEL.oneoff] ?? '')) return;
    if (e.action === 'kill' || e.action === 'stop') this.stoppedByApi.set(e.id, at);
    else if (e.action === 'oom') {
      // The kernel can report several OOM events for one death: deaths are counted at their die.
      this.oomAt.set(e.id, at);
      this.serial(() => this.signal(service, 'oom', {}));
    } else if (e.action.startsWith('health_status') && e.action.includes('unhealthy'))
      this.serial(() => this.signal(service, 'unhealthy', {}));
    else if (e.action === 'die') {
      const t = setTimeout(() => this.serial(() => this.onDeath(service, e, at)), DIE_SETTLE_MS);
      t.unref?.();
    }
  }

  private serial(fn: () => Promise<void>): void {
    this.queue = this.queue
      .then(() => (this.abort.signal.aborted ? undefined : fn()))
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'incident watcher step failed'));
  }

  private async onDeath(service: string, e: EngineEvent, at: number): Promise<void> {
    const stopped = this.stoppedByApi.get(e.id);
    if (stopped !== undefined && at - stopped < INTENTIONAL_MS) return;
    const { count, window } = this.deps.config.watch.restartLoop;
    const recent = [...(this.deaths.get(service) ?? []), at].filter((t) => at - t <= window);
    this.deaths.set(service, recent);
    // The main process OOM-killed is an oom right before a die 137; an oom before another exit code
    // killed a process inside, and the main process then exited by itself.
    const oomAt = this.oomAt.get(e.id);
    const oom = oomAt !== undefined && at - oomAt < 5000 && e.attributes.exitCode === '137';
    const kinds: IncidentKind[] = [];
    if (recent.length >= count) kinds.push('restart_loop');
    const c = await this.deps.docker.inspect(e.id, this.abort.signal).catch(() => undefined);
    if (c && c.restartPolicy.name === 'on-failure' && !c.state.running && !c.state.restarting) {
      if (c.restartCount >= c.restartPolicy.maximumRetryCount && c.restartPolicy.maximumRetryCount > 0)
        kinds.push('gave_up');
    }
    const open = this.store.openFor(`service:${service}`);
    if (!kinds.length && !open) return; // one crash that the restart policy handled is not an incident
    await this.signal(service, kinds[0] ?? open!.kinds[0]!, { death: true, oom, extraKinds: kinds.slice(1) });
  }

  /**
   * A failed Swarm task: counted toward a restart loop like a die; an exit 137 is an OOM kill when
   * its node's engine (swarm.nodes) says so. One failure Swarm restarted is no incident by itself.
   */
  private async onTaskDeath(service: string, e: EngineEvent, at: number): Promise<void> {
    const { count, window } = this.deps.config.watch.restartLoop;
    const recent = [...(this.deaths.get(service) ?? []), at].filter((t) => at - t <= window);
    this.deaths.set(service, recent);
    let oom = false;
    if (e.attributes.exitCode === '137' && e.attributes.container) {
      const engine = new NodeEngines(
        this.deps.config.swarm?.nodes ?? {},
        this.deps.config.docker.timeout,
      ).get(e.attributes.node ?? null);
      oom = Boolean(
        engine &&
          (await engine
            .inspect(e.attributes.container, this.abort.signal)
            .then((d) => d.state.oomKilled)
            .catch(() => false)),
      );
    }
    const kinds: IncidentKind[] = [];
    if (oom) kinds.push('oom');
    if (recent.length >= count) kinds.push('restart_loop');
    const open = this.store.openFor(`service:${service}`);
    if (!kinds.length && !open) return;
    await this.signal(service, kinds[0] ?? open!.kinds[0]!, { death: true, oom, extraKinds: kinds.slice(1) });
  }

  private async signal(
    service: string,
    kind: IncidentKind,
    opts: { oom?: boolean; death?: boolean; extraKinds?: IncidentKind[]; verdict?: string },
  ): Promise<void> {
    const key = `service:${service}`;
    const t = this.now();
    const iso = new Date(t).toISOString();
    const inc = this.store.openFor(key) ?? newIncident(key, service, iso);
    for (const k of [kind, ...(opts.extraKinds ?? [])]) if (!inc.kinds.includes(k)) inc.kinds.push(k);
    if (opts.death) inc.deaths++;
    if (opts.oom) inc.oomKills++;
    inc.updatedAt = iso;
    this.lastSignal.set(key, t);
    if (opts.verdict) inc.verdict = opts.verdict;
    else await this.explain(inc, service);
    inc.title = titleOf(inc);
    this.store.save(inc);
    await this.changed(inc.id);
  }

  /** explain_restarts' verdict and evidence: the same answer on-call gets when asking why. */
  private async explain(inc: Incident, service: string): Promise<void> {
    try {
      const out = (await invokeTool(findTool('explain_restarts')!, this.ctx(), { service })) as {
        verdict: { summary: string; evidence: string[]; nextSteps: string[] };
      };
      inc.verdict = out.verdict.summary;
      inc.evidence = [...out.verdict.evidence, ...out.verdict.nextSteps.map((s) => `next: ${s}`)].slice(
        0,
        12,
      );
    } catch (err) {
      inc.verdict ||= `${service}: ${TITLES[headlineKind(inc)]}`;
      this.deps.logger.warn({ err, service }, 'could not explain the incident');
    }
  }

  private async checkServices(): Promise<void> {
    const health = (await invokeTool(findTool('stack_health')!, this.ctx(), { deep: false })) as {
      services: Array<{
        service: string;
        critical: boolean;
        status: string;
        ok: boolean;
        problems: string[];
      }>;
    };
    const t = this.now();
    // A stack with no container at all is down on purpose (or not up yet), not missing a service.
    const stackUp = health.services.some((s) => s.status !== 'missing');
    for (const s of health.services) {
      if (!stackUp || !s.critical || s.status !== 'missing') {
        this.missingSince.delete(s.service);
        continue;
      }
      const since = this.missingSince.get(s.service) ?? t;
      this.missingSince.set(s.service, since);
      if (t - since < this.deps.config.watch.missingAfter) continue;
      if (this.store.openFor(`service:${s.service}`)?.kinds.includes('missing')) continue;
      await this.signal(s.service, 'missing', {
        verdict: `${s.service} is a critical service and has no container: ${s.problems.join('; ')}`,
      });
    }
    for (const inc of this.store.list()) {
      if (inc.status !== 'open' || !inc.service) continue;
      const s = health.services.find((x) => x.service === inc.service);
      const quietSince = this.lastSignal.get(inc.key) ?? Date.parse(inc.updatedAt);
      if (s?.ok && t - quietSince >= this.deps.config.watch.recoverAfter)
        await this.resolve(inc, `${inc.service} is ${s.status} again`);
    }
  }

  private async checkDisks(): Promise<void> {
    // disk_usage reads Compose containers and volumes: not on a Swarm stack (yet).
    if ((await stackKind(this.ctx())) === 'swarm') return;
    const disk = (await invokeTool(findTool('disk_usage')!, this.ctx(), {})) as {
      volumes: Array<{
        name: string;
        volume: string | null;
        bytes: number | null;
        threshold: number | null;
        over: boolean;
      }>;
      playLogs: Array<{ container: string; file: string; bytes: number; threshold: number; over: boolean }>;
    };
    const over = new Map<string, string>();
    for (const v of disk.volumes)
      if (v.over)
        over.set(
          `disk:${v.volume ?? v.name}`,
          `volume ${v.volume ?? v.name} uses ${formatBytes(v.bytes ?? 0)}, over its ${formatBytes(v.threshold ?? 0)} threshold`,
        );
    for (const p of disk.playLogs)
      if (p.over)
        over.set(
          `disk:${p.container}:${p.file}`,
          `${p.file} in ${p.container} is ${formatBytes(p.bytes)}, over its ${formatBytes(p.threshold)} threshold`,
        );
    const iso = new Date(this.now()).toISOString();
    for (const [key, verdict] of over) {
      if (this.store.openFor(key)) continue;
      const inc: Incident = {
        ...newIncident(key, null, iso),
        kinds: ['disk'],
        title: `${key.slice(5)}: ${TITLES.disk}`,
        verdict,
        evidence: [verdict, 'next: run the disk-usage runbook; prune old backups or grow the volume'],
      };
      this.store.save(inc);
      await this.changed(inc.id);
    }
    for (const inc of this.store.list())
      if (inc.status === 'open' && inc.key.startsWith('disk:') && !over.has(inc.key))
        await this.resolve(inc, 'usage is back under its threshold');
  }

  private async resolve(inc: Incident, why: string): Promise<void> {
    const iso = new Date(this.now()).toISOString();
    this.store.save({
      ...inc,
      status: 'resolved',
      resolvedAt: iso,
      updatedAt: iso,
      verdict: `${inc.verdict}\nRecovered: ${why}.`,
    });
    await this.changed(inc.id);
  }

  /** Brings the notifier up to date with an incident, within the rate limit. */
  private async changed(id: string): Promise<void> {
    if (!this.notifier) return;
    this.dirty.add(id);
    for (const pending of [...this.dirty]) {
      const inc = this.store.get(pending);
      if (!inc || isMuted(inc, this.now()) || (!inc.slack && inc.status === 'resolved')) {
        this.dirty.delete(pending);
        continue;
      }
      const op = !inc.slack ? 'post' : inc.status === 'resolved' ? 'recovered' : 'update';
      if (!this.limit.tryTake(CALLS[op])) {
        this.flushLater();
        return;
      }
      this.dirty.delete(pending);
      try {
        if (op === 'post') this.store.save({ ...inc, slack: await this.notifier.post(inc) });
        else if (op === 'update') await this.notifier.update(inc);
        else await this.notifier.recovered(inc);
      } catch (err) {
        this.deps.logger.warn({ err, incident: inc.id }, 'could not tell the incident to Slack');
      }
    }
  }

  private flushLater(): void {
    if (this.flushAt) return;
    const wait = Math.max(100, this.limit.nextFreeAt() - this.now());
    this.flushAt = setTimeout(() => {
      this.flushAt = undefined;
      const next = [...this.dirty][0];
      if (next) this.serial(() => this.changed(next));
    }, wait);
    this.flushAt.unref?.();
  }

  private ctx(): ToolContext {
    return internalContext(
      { ...this.deps, tools: registry },
      { id: 'internal:watch', display: 'incident watcher' },
      this.abort.signal,
    );
  }
}

function titleOf(inc: Incident): string {
  const counts = [
    inc.oomKills ? `${inc.oomKills} OOM kill(s)` : '',
    inc.deaths ? `${inc.deaths} death(s)` : '',
  ].filter(Boolean);
  return `${inc.service}: ${TITLES[headlineKind(inc)]}${counts.length ? ` (${counts.join(', ')})` : ''}`;
}

function newIncident(key: string, service: string | null, iso: string): Incident {
  return {
    id: `inc_${iso.replace(/\D/g, '').slice(0, 14)}_${randomBytes(3).toString('hex')}`,
    key,
    service,
    kinds: [],
    title: '',
    verdict: '',
    evidence: [],
    deaths: 0,
    oomKills: 0,
    openedAt: iso,
    updatedAt: iso,
    resolvedAt: null,
    status: 'open',
  };
}
