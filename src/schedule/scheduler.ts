import { hostname } from 'node:os';
import type { ScheduledJob } from '../config/schema.js';
import { ToolError } from '../errors.js';
import { findTool } from '../tools/registry.js';
import { type CronSlots, cronSlots } from './cron.js';
import { type JobDeps, runJobSteps, type StepOutput } from './run-job.js';
import { type RunRecord, ScheduleState } from './state.js';

/** A slot noticed later than this (process suspended, clock jump) counts as missed. */
const LATE_MS = 60_000;
/** Re-plan at least this often, so a changed clock never leaves the loop asleep for hours. */
const MAX_SLEEP_MS = 30_000;

export type RunReporter = (run: RunRecord, job: ScheduledJob, outputs: StepOutput[]) => Promise<void>;

interface Planned {
  job: ScheduledJob;
  slots: CronSlots;
  next: number | null;
}

/**
 * Runs schedule.jobs on their cron slots inside `doom-ops serve`. Several processes may run it
 * against one state directory: each slot is claimed exclusively (one run per slot), a job's run
 * marker prevents overlapping runs, and slots missed while no process ran follow the job's
 * `missed` policy (run the latest once, or record it skipped).
 */
export class Scheduler {
  private readonly state: ScheduleState;
  private readonly planned: Planned[];
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: JobDeps,
    private readonly report?: RunReporter,
    private readonly now: () => number = Date.now,
  ) {
    const { schedule, stateDir, project } = deps.config;
    this.state = new ScheduleState(stateDir, project);
    this.planned = schedule.jobs
      .filter((j) => j.enabled)
      .map((job) => {
        for (const s of job.steps)
          if (!findTool(s.tool))
            throw new ToolError('config_invalid', `schedule.jobs ${job.name}: no tool named ${s.tool}`, {
              hint: 'use a tool name from `doom-ops --help` / the README tool table, e.g. backup, prune_backups, stack_health',
            });
        this.warnIfUnapproved(job);
        return { job, slots: cronSlots(job.cron, schedule.timezone, job.name), next: null };
      });
  }

  /**
   * An enabled job with a destructive step and no approvedBy is refused at every run: say so once
   * at start, with the fix, rather than only in each night's failure report.
   */
  private warnIfUnapproved(job: ScheduledJob): void {
    if (job.approvedBy) return;
    for (const s of job.steps) {
      const tool = findTool(s.tool)!;
      if (tool.risk !== 'destructive') continue;
      const input = tool.input.safeParse(s.input);
      let risk: string = tool.risk;
      try {
        // Input-dependent risk without a stack (prune_backups with dryRun is a read).
        if (input.success && tool.effectiveRisk) {
          const r = tool.effectiveRisk(input.data, undefined as never);
          if (typeof r === 'string') risk = r; // a promise needs the stack: assume the worst
        }
      } catch {
        // Needs the stack to tell: assume the worst.
      }
      if (risk === 'destructive')
        this.deps.logger.warn(
          { job: job.name, tool: s.tool },
          `scheduled job ${job.name}: step ${s.tool} is destructive and schedule.jobs[${job.name}].approvedBy is not set, so every run will be refused; have an approver name themselves in approvedBy, or set enabled: false`,
        );
    }
  }

  get jobs(): number {
    return this.planned.length;
  }

  start(): void {
    const now = this.now();
    for (const p of this.planned) {
      const lastClaimed = this.state.lastClaimed(p.job.name);
      const latest = p.slots.latest(now);
      // Downtime: a slot passed after the last one any process claimed. One that passed moments ago
      // is on time (another process may be about to claim it), not missed.
      if (lastClaimed !== undefined && latest !== null && latest > lastClaimed)
        this.fire(p.job, latest, now - latest > LATE_MS);
      p.next = p.slots.next(now);
    }
    this.arm();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await Promise.allSettled([...this.running]);
  }

  private arm(): void {
    if (this.abort.signal.aborted) return;
    const soonest = Math.min(...this.planned.map((p) => p.next ?? Number.POSITIVE_INFINITY));
    if (!Number.isFinite(soonest)) return;
    const wait = Math.max(0, Math.min(soonest - this.now(), MAX_SLEEP_MS));
    this.timer = setTimeout(() => this.tick(), wait);
    this.timer.unref?.();
  }

  private tick(): void {
    const now = this.now();
    for (const p of this.planned) {
      if (p.next === null || p.next > now) continue;
      const slot = p.slots.latest(now) ?? p.next;
      this.fire(p.job, slot, now - slot > LATE_MS);
      p.next = p.slots.next(now);
    }
    this.arm();
  }

  private fire(job: ScheduledJob, slot: number, missed: boolean): void {
    if (!this.state.claim(job.name, slot)) return; // another process has this slot
    const run = this.execute(job, slot, missed).catch((err: unknown) => {
      this.deps.logger.error({ err, job: job.name }, 'scheduled job crashed');
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private async execute(job: ScheduledJob, slot: number, missed: boolean): Promise<void> {
    const startedAt = new Date(this.now()).toISOString();
    const base = {
      job: job.name,
      slot: new Date(slot).toISOString(),
      startedAt,
      by: `${hostname()}:${process.pid}`,
    };
    if (missed && job.missed === 'skip')
      return this.finish(
        job,
        {
          ...base,
          result: 'skipped',
          reason: 'slot missed while doom-ops was not running (missed: skip)',
          steps: [],
        },
        [],
      );
    const marker = this.state.startRun(job.name, slot);
    if ('heldBy' in marker)
      return this.finish(
        job,
        {
          ...base,
          result: 'skipped',
          reason: `the previous run is still going (${marker.heldBy})`,
          steps: [],
        },
        [],
      );
    try {
      const r = await runJobSteps(this.deps, job, this.abort.signal);
      // Cut short because doom-ops is stopping: not a failure of the job (nothing half-done is
      // kept: an interrupted backup is incomplete and removed by the next one).
      const stopped = !r.ok && this.abort.signal.aborted;
      await this.finish(
        job,
        {
          ...base,
          result: r.ok ? 'succeeded' : stopped ? 'skipped' : 'failed',
          ...(stopped
            ? { reason: `cancelled: doom-ops stopped while it ran (${r.reason})` }
            : r.reason
              ? { reason: r.reason }
              : missed
                ? { reason: 'ran late: its slot was missed while doom-ops was not running' }
                : {}),
          steps: r.steps,
        },
        r.outputs,
      );
    } finally {
      marker.release();
    }
  }

  private async finish(
    job: ScheduledJob,
    partial: Omit<RunRecord, 'finishedAt'>,
    outputs: StepOutput[],
  ): Promise<void> {
    const run: RunRecord = { ...partial, finishedAt: new Date(this.now()).toISOString() };
    this.state.record(run);
    this.deps.safety.audit.append({
      event: `scheduled_${run.result}`,
      principal: `schedule:${job.name}`,
      surface: 'internal',
      tool: job.name,
      input: { slot: run.slot, steps: job.steps.map((s) => s.tool) },
      ...(job.approvedBy ? { approver: `config:${job.approvedBy}` } : {}),
      outcome: run.reason ?? run.steps.map((s) => `${s.tool}: ${s.summary}`).join('; '),
      durationMs: Date.parse(run.finishedAt) - Date.parse(run.startedAt),
      project: this.deps.config.project,
    });
    if (this.report && (job.report === 'always' || run.result !== 'succeeded'))
      await this.report(run, job, outputs).catch((err: unknown) =>
        this.deps.logger.error({ err, job: job.name }, 'could not report the scheduled run'),
      );
  }
}
