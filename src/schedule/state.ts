import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { acquireLockFile } from '../util/lock-file.js';
import { processAlive } from '../util/process.js';

export interface StepResult {
  tool: string;
  ok: boolean;
  summary: string;
}

/** One run of a job (or a slot it skipped), as `doom-ops schedule` and the audit log show it. */
export interface RunRecord {
  job: string;
  slot: string;
  startedAt: string;
  finishedAt: string;
  result: 'succeeded' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  reason?: string;
  steps: StepResult[];
  /** host:pid of the process that ran it. */
  by: string;
}

const ME = `${hostname()}:${process.pid}`;
const KEEP_CLAIMS = 50;

/**
 * Scheduler state under <stateDir>/schedule/<project>/, shared by every doom-ops process using
 * that state directory: a claim file per slot (created exclusively, so exactly one process runs a
 * slot), a running marker per job (so runs never overlap), the last run and a run history.
 */
export class ScheduleState {
  private readonly dir: string;

  constructor(stateDir: string, project: string) {
    this.dir = join(isAbsolute(stateDir) ? stateDir : resolve(stateDir), 'schedule', project);
  }

  /** True for exactly one caller per (job, slot), across processes. */
  claim(job: string, slotMs: number): boolean {
    const dir = join(this.dir, job, 'claims');
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, String(slotMs)), ME, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    const old = readdirSync(dir).sort().slice(0, -KEEP_CLAIMS);
    for (const f of old) rmSync(join(dir, f), { force: true });
    return true;
  }

  /**
   * Marks the job running: `<job>/running`, created whole and exclusively (acquireLockFile). Returns
   * release (removes the marker only while it is still ours), or who holds it (host:pid) when a
   * live run does. A marker left by a process that died on this host is taken over by one process
   * only; one from another host, or an empty or partial one, is respected.
   */
  startRun(job: string, slotMs: number): { release(): void } | { heldBy: string } {
    const file = join(this.dir, job, 'running');
    const me = { by: ME, pid: process.pid, host: hostname(), slotMs, token: randomUUID() };
    const got = acquireLockFile(file, JSON.stringify(me), {
      parse: (text) => {
        const h = parseJson<{ by?: unknown; pid?: unknown; host?: unknown }>(text);
        return typeof h?.by === 'string' && typeof h.pid === 'number' && typeof h.host === 'string'
          ? { by: h.by, pid: h.pid, host: h.host }
          : undefined;
      },
      isStale: (h) => h.host === hostname() && !processAlive(h.pid),
    });
    if (got.acquired) return { release: got.release };
    return {
      heldBy:
        got.holder?.by ??
        `unknown: the marker ${file} names no process (empty or cut short); remove it if no run of ${job} is going`,
    };
  }

  record(run: RunRecord): void {
    mkdirSync(join(this.dir, run.job), { recursive: true });
    appendFileSync(join(this.dir, run.job, 'history.jsonl'), `${JSON.stringify(run)}\n`);
    const last = join(this.dir, run.job, 'last.json');
    writeFileSync(`${last}.${process.pid}.tmp`, JSON.stringify(run, null, 2));
    renameSync(`${last}.${process.pid}.tmp`, last);
  }

  last(job: string): RunRecord | undefined {
    return readJson<RunRecord>(join(this.dir, job, 'last.json'));
  }

  /** The most recent slot any process claimed for the job (a run in progress included). */
  lastClaimed(job: string): number | undefined {
    try {
      const slots = readdirSync(join(this.dir, job, 'claims'))
        .map(Number)
        .filter(Number.isFinite);
      return slots.length ? Math.max(...slots) : undefined;
    } catch {
      return undefined;
    }
  }

  history(job: string, limit = 50): RunRecord[] {
    try {
      const lines = readFileSync(join(this.dir, job, 'history.jsonl'), 'utf8')
        .trim()
        .split('\n');
      return lines
        .slice(-limit)
        .filter(Boolean)
        .map((l) => JSON.parse(l) as RunRecord);
    } catch {
      return [];
    }
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return parseJson<T>(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
