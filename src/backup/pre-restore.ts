import { isToolError, ToolError } from '../errors.js';
import type { ToolContext } from '../tools/context.js';
import type { Component, ComponentEntry, Verification } from './manifest.js';
import { type BackupRun, reasonOf, runBackup } from './run-backup.js';
import { type EntrySource, verifyEntries } from './verify.js';

/** What failed of a check, in words: every failed entry with its detail. */
function verifyFailure(v: PromiseSettledResult<Verification>): string | undefined {
  if (v.status === 'rejected') return reasonOf(v.reason);
  if (v.value.ok) return undefined;
  return v.value.checks
    .filter((c) => !c.ok)
    .map((c) => `${c.target}: ${c.detail}`)
    .join('; ');
}

/** Why the safety backup is not one to restore over (it threw, or did not complete), or undefined. */
function safetyFailure(s: PromiseSettledResult<BackupRun | null>): string | undefined {
  if (s.status === 'rejected') return reasonOf(s.reason);
  const m = s.value?.manifest;
  if (!m || m.phase === 'Completed') return undefined;
  const why = (m.failures ?? []).map((f) => `${f.target ? `${f.target}: ` : ''}${f.reason}`).join('; ');
  return `${m.phase}${why ? `: ${why}` : ''}${m.phase === 'PartiallyFailed' ? `; its partial backup ${m.id} is kept` : ''}`;
}

/**
 * Before a restore touches anything: reads backup `id`'s entries back through the same checks as
 * verify_backup, and at the same time writes the safety backup of the current data (reason
 * pre-restore, protecting `id`), unless `safetyBackup` names one an interrupted run already wrote.
 * Both always run to their end (a half-written safety backup would be left as an incomplete one)
 * and both must pass; the result is the safety backup's id. Errors: ToolError cancelled when
 * `ctx.signal` stops both (naming a safety backup that was complete by then); ToolError failed (or
 * the safety backup's own code when only it failed) naming which failed and why, and saying that
 * nothing was changed and whether a safety backup was written (it is kept: it is a complete backup
 * of the data as it is now, in the safety backups' own retention group).
 */
export async function verifyWhileProtecting(
  ctx: ToolContext,
  o: {
    id: string;
    component: Component;
    entries: ComponentEntry[];
    source: EntrySource;
    targets: string[];
    safetyBackup?: string;
    /** Called once, when the first of the two has finished and passed (the other still runs). */
    onOnePassed?: () => void;
  },
): Promise<string> {
  const safetyCtx: ToolContext = {
    ...ctx,
    progress: (p) => ctx.progress({ ...p, message: `safety backup: ${p.message ?? ''}` }),
  };
  let passed = 0;
  const onPass = <T>(p: Promise<T>, ok: (v: T) => boolean): Promise<T> =>
    p.then((v) => {
      if (ok(v) && ++passed === 1) {
        // A head start only: its failure must not turn the check that passed into a failure.
        try {
          o.onOnePassed?.();
        } catch (err) {
          ctx.logger?.warn({ err }, 'could not start reading the backup ahead of the restore');
        }
      }
      return v;
    });
  const [verified, safety] = await Promise.allSettled([
    onPass(verifyEntries(ctx, o.entries, o.source), (v) => v.ok),
    o.safetyBackup
      ? Promise.resolve(null)
      : onPass(
          runBackup(safetyCtx, o.component, 'pre-restore', { protects: o.id, targets: o.targets }),
          (b) => b.manifest.phase === 'Completed',
        ),
  ]);
  const written = safety.status === 'fulfilled' ? safety.value?.manifest : undefined;
  const kept =
    written?.phase === 'Completed'
      ? ` The safety backup ${written.id} of the current ${o.component} data was written meanwhile and is kept (restore it, or let prune remove it with the other safety backups).`
      : '';
  if (ctx.signal.aborted)
    throw new ToolError(
      'cancelled',
      `restore of ${o.component} from ${o.id} cancelled while reading the backup back and writing the safety backup; nothing was changed.${kept}`,
    );
  const bad = verifyFailure(verified);
  const unsafe = safetyFailure(safety);
  if (bad && unsafe)
    throw new ToolError(
      'failed',
      `backup ${o.id} failed verification (${bad}), and the safety backup of the current ${o.component} data did not complete (${unsafe}); nothing was changed`,
      { hint: 'pick another backup (list_backups), and fix what the safety backup reports' },
    );
  if (bad)
    throw new ToolError('failed', `backup ${o.id} failed verification, nothing was changed: ${bad}.${kept}`, {
      hint: 'pick another backup (list_backups) or investigate with verify_backup',
    });
  if (unsafe) {
    const err = safety.status === 'rejected' ? safety.reason : undefined;
    throw new ToolError(
      isToolError(err) && err.code !== 'cancelled' ? err.code : 'failed',
      `the safety backup of the current ${o.component} data did not complete (${unsafe}); nothing was changed (backup ${o.id} itself was read back and checked: ok)`,
      { hint: 'fix what the safety backup reports, then restore again', cause: err },
    );
  }
  return o.safetyBackup ?? written!.id;
}
