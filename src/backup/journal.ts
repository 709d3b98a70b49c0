import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { processAlive } from '../util/process.js';

/**
 * The restore journal, `<stateDir>/restore/<project>.json`: written before a restore touches
 * anything, updated as it goes, removed when it completes. One that is left (the process was
 * killed, or the restore failed or was cancelled part-way) means the data it was restoring is
 * incomplete: health reports it, and the next restore completes it.
 */
export const journalSchema = z.object({
  id: z.string(),
  component: z.string(),
  targets: z.array(z.string()),
  repository: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  host: z.string(),
  pid: z.number(),
  /** `verifying and safety-backup` (both at once; `verifying` when a kept safety backup is reused) → `restoring <target>` */
  step: z.string(),
  safetyBackup: z.string().optional(),
  /** Containers the restore stopped (started again by the restore that completes it); on Swarm `<service>=<replicas>` scaled to 0. */
  stopped: z.array(z.string()).default([]),
  /** Swarm: the node whose copy of the volumes is restored, when the user chose it (the restore that completes it uses it too). */
  node: z.string().optional(),
  /**
   * Data was changed (by this run or an interrupted one it completes). Never cleared by a later
   * step, so a resumed run that fails or is killed while checking again still says so.
   */
  touched: z.boolean().default(false),
  /** Set when the restore ended with an error or a cancellation (the process lived on). */
  failed: z.object({ at: z.string(), reason: z.string() }).optional(),
});
export type RestoreJournal = z.output<typeof journalSchema>;

function file(config: Config, project: string): string {
  return join(resolve(config.stateDir), 'restore', `${project}.json`);
}

export async function writeJournal(config: Config, project: string, j: RestoreJournal): Promise<void> {
  const f = file(config, project);
  await mkdir(join(f, '..'), { recursive: true, mode: 0o700 });
  await writeFile(`${f}.tmp`, JSON.stringify({ ...j, updatedAt: new Date().toISOString() }, null, 2));
  await rename(`${f}.tmp`, f);
}

export async function clearJournal(config: Config, project: string): Promise<void> {
  await rm(file(config, project), { force: true });
}

/** The journal with whether it is interrupted (its process is gone, or it failed) or still running. */
export async function readJournal(
  config: Config,
  project: string,
): Promise<(RestoreJournal & { interrupted: boolean }) | null> {
  const text = await readFile(file(config, project), 'utf8').catch(() => null);
  if (!text) return null;
  let parsed: RestoreJournal;
  try {
    parsed = journalSchema.parse(JSON.parse(text));
  } catch {
    return null;
  }
  const running = parsed.host === hostname() && processAlive(parsed.pid) && !parsed.failed;
  return { ...parsed, interrupted: !running };
}

/**
 * Whether the restore got as far as changing data: a target being restored, or containers it
 * stopped. One interrupted before that (while verifying or writing the safety backup) left the
 * data as it was and holds nothing up.
 */
export function touchedData(j: RestoreJournal): boolean {
  return j.touched || j.step.startsWith('restoring') || j.stopped.length > 0;
}

/** "restore of volumes (nats-data) from backup X interrupted at T: …; run it again, or restore the safety backup S". */
/** A journal's stopped entry in words: a container name, or a Swarm service scaled to 0 (`<service>=<replicas>`). */
function stoppedWords(entry: string): string {
  const m = /^(.+)=(\d+)$/.exec(entry);
  return m ? `Swarm service ${m[1]} (scaled to 0; it had ${m[2]} replica(s))` : entry;
}

export function describeInterrupted(j: RestoreJournal): string {
  const what = `${j.component}${j.targets.length ? ` (${j.targets.join(', ')})` : ''}`;
  const at = j.failed?.at ?? j.updatedAt;
  const how = j.failed
    ? `failed at ${at} (${j.failed.reason})`
    : `interrupted at ${at} (its process ${j.pid} on ${j.host} is gone)`;
  const state = touchedData(j)
    ? `${j.component === 'volumes' ? 'volume' : 'data'} incomplete${j.stopped.length ? `, ${j.stopped.map(stoppedWords).join(', ')} may still be stopped` : ''}`
    : 'nothing was changed yet';
  return `restore of ${what} from backup ${j.id} ${how} during ${j.step}: ${state}; run it again (doom-ops restore with no arguments completes it)${j.safetyBackup ? `, or restore the safety backup ${j.safetyBackup}` : ''}`;
}

// ---- containers a backup stopped (backup.stop / doom-ops.backup.stop=true) ---------------------

const stoppedSchema = z.array(
  z.object({ id: z.string(), name: z.string(), at: z.string(), host: z.string(), pid: z.number() }),
);
export type StoppedForBackup = z.output<typeof stoppedSchema>[number];

function stoppedFile(config: Config, project: string): string {
  return join(resolve(config.stateDir), 'restore', `${project}.backup-stopped.json`);
}

/** Containers a backup stopped and has not started again (a killed backup leaves them here). */
export async function readStoppedForBackup(config: Config, project: string): Promise<StoppedForBackup[]> {
  const text = await readFile(stoppedFile(config, project), 'utf8').catch(() => null);
  if (!text) return [];
  try {
    return stoppedSchema.parse(JSON.parse(text));
  } catch {
    return [];
  }
}

/** Records (before it is stopped) or forgets (once it runs again) a container stopped for a backup. */
export async function markStoppedForBackup(
  config: Config,
  project: string,
  c: { id: string; name: string },
  stopped: boolean,
): Promise<void> {
  const list = (await readStoppedForBackup(config, project)).filter((x) => x.id !== c.id);
  if (stopped) list.push({ ...c, at: new Date().toISOString(), host: hostname(), pid: process.pid });
  const f = stoppedFile(config, project);
  if (list.length === 0) {
    await rm(f, { force: true });
    return;
  }
  await mkdir(join(f, '..'), { recursive: true, mode: 0o700 });
  await writeFile(`${f}.tmp`, JSON.stringify(list, null, 2));
  await rename(`${f}.tmp`, f);
}

/** Those whose backup process is gone (killed while they were stopped). */
export function leftStopped(list: StoppedForBackup[]): StoppedForBackup[] {
  return list.filter((x) => x.host !== hostname() || !processAlive(x.pid));
}
