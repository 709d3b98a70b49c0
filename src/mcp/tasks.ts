import { randomUUID } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { z } from 'zod';

/** The MCP Tasks extension (SEP-2663), served on protocol revision 2026-07-28. */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** Long jobs that run as tasks for a client that declares the extension on its request. */
export const TASK_TOOLS: ReadonlySet<string> = new Set([
  'backup',
  'restore',
  'drill_backup',
  'stack_up',
  'stack_down',
  'update_service',
]);

/** How long a task is kept after it ends (ms); its result can be fetched until then. */
const KEEP_AFTER_END = 60 * 60_000;
/** At most this many tasks are kept; the oldest ended ones go first. */
const MAX_TASKS = 1000;
const POLL_MS = 1000;

/**
 * Task states. Every error of the work, the server's own included (behind a reference id), ends as
 * a completed task whose result has isError, so `failed` is never reached here.
 */
type Status = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

interface Entry {
  taskId: string;
  /** The principal that started it: no one else can see or cancel it. */
  owner: string;
  status: Status;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number | null;
  result?: CallToolResult;
  abort: AbortController;
  /** tasks/cancel asked; the task reads `working` until the work has actually stopped. */
  cancelling: boolean;
}

/** The Task shape of tasks/get and CreateTaskResult (without resultType). */
export interface TaskView {
  taskId: string;
  status: Status;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number | null;
  pollIntervalMs: number;
  result?: CallToolResult & { resultType: 'complete' };
}

/**
 * The tasks of this process, in memory: a task lives as long as `doom-ops serve` (or the stdio
 * connection's process) runs, whatever happens to the client that started it; its work keeps its
 * own abort signal, which only tasks/cancel (or the process ending) fires.
 */
export class TaskStore {
  private readonly tasks = new Map<string, Entry>();

  /** A working task owned by `owner`; durable before it is returned (a tasks/get finds it). */
  create(owner: string, abort: AbortController): { id: string; view: () => TaskView } {
    this.sweep();
    const now = new Date().toISOString();
    const entry: Entry = {
      taskId: randomUUID(),
      owner,
      status: 'working',
      statusMessage: 'started',
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs: null,
      abort,
      cancelling: false,
    };
    this.tasks.set(entry.taskId, entry);
    return { id: entry.taskId, view: () => view(entry) };
  }

  /** A progress report of the running work, as the task's status message. */
  progress(id: string, message: string): void {
    const e = this.tasks.get(id);
    if (e?.status !== 'working' || e.cancelling) return;
    e.statusMessage = message;
    e.lastUpdatedAt = new Date().toISOString();
  }

  /**
   * The work ended with a result: completed (a tool error is a completed task whose result has
   * isError). Also after a cancel that came too late, or that the tool turned into an orderly
   * stop: the result says what was done and undone.
   */
  complete(id: string, result: CallToolResult): void {
    const e = this.tasks.get(id);
    if (!e || isTerminal(e.status)) return;
    this.end(e, 'completed', result.isError ? 'ended with an error' : 'done');
    e.result = result;
  }

  /** The work stopped because of tasks/cancel; `why` is what it reported (what is left as it was). */
  cancelled(id: string, why: string): void {
    const e = this.tasks.get(id);
    if (!e || isTerminal(e.status)) return;
    this.end(e, 'cancelled', `cancelled by the client: ${why}`);
  }

  get(id: string, owner: string): TaskView | undefined {
    this.sweep();
    const e = this.tasks.get(id);
    return e && e.owner === owner ? view(e) : undefined;
  }

  /**
   * tasks/cancel: aborts the work. The task reads `working` ("cancelling") until the work has
   * stopped at a safe point (a tool puts back what it half changed first), then `cancelled` with
   * what the work reported, or `completed` when it finished anyway. A task that ended is left as it is.
   */
  cancel(id: string, owner: string): TaskView | undefined {
    const e = this.tasks.get(id);
    if (!e || e.owner !== owner) return undefined;
    if (!isTerminal(e.status) && !e.cancelling) {
      e.cancelling = true;
      e.statusMessage = 'cancelling: the work stops at its next safe point';
      e.lastUpdatedAt = new Date().toISOString();
      e.abort.abort(new Error('task cancelled'));
    }
    return view(e);
  }

  private end(e: Entry, status: Status, message: string): void {
    e.status = status;
    e.statusMessage = message;
    e.lastUpdatedAt = new Date().toISOString();
    e.ttlMs = Date.now() - Date.parse(e.createdAt) + KEEP_AFTER_END;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, e] of this.tasks)
      if (e.ttlMs !== null && Date.parse(e.createdAt) + e.ttlMs < now) this.tasks.delete(id);
    if (this.tasks.size < MAX_TASKS) return;
    const ended = [...this.tasks.values()]
      .filter((e) => isTerminal(e.status))
      .sort((a, b) => a.lastUpdatedAt.localeCompare(b.lastUpdatedAt));
    for (const e of ended.slice(0, this.tasks.size - MAX_TASKS + 1)) this.tasks.delete(e.taskId);
  }
}

function isTerminal(s: Status): boolean {
  return s === 'completed' || s === 'failed' || s === 'cancelled';
}

function view(e: Entry): TaskView {
  return {
    taskId: e.taskId,
    status: e.status,
    ...(e.statusMessage ? { statusMessage: e.statusMessage } : {}),
    createdAt: e.createdAt,
    lastUpdatedAt: e.lastUpdatedAt,
    ttlMs: e.ttlMs,
    pollIntervalMs: POLL_MS,
    // The inlined result is the tools/call result as the 2026-07-28 wire has it.
    ...(e.status === 'completed' && e.result ? { result: { resultType: 'complete', ...e.result } } : {}),
  };
}

/** Whether this 2026-07-28 request's client declared the tasks extension. */
export function declaresTasks(envelope: unknown, key: string): boolean {
  const caps = (envelope as Record<string, unknown> | undefined)?.[key] as
    | { extensions?: Record<string, unknown> }
    | undefined;
  return Boolean(caps?.extensions && TASKS_EXTENSION in caps.extensions);
}

export const taskIdParams = z.looseObject({ taskId: z.string().min(1) });
export const anyResult = z.looseObject({});
