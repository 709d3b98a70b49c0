import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { removeOrphanHelpers } from '../../adapters/docker/helper.js';
import { restoreDuckdb } from '../../backup/components/duckdb.js';
import { restoreMongo } from '../../backup/components/mongodb.js';
import { restoreOpenSearch } from '../../backup/components/opensearch.js';
import { restoreSwarmVolume, swarmVolumeRestore, volumeKey } from '../../backup/components/swarm-volumes.js';
import { type PreparedVolume, prepareVolumeRestore, restoreVolume } from '../../backup/components/volumes.js';
import {
  clearJournal,
  describeInterrupted,
  type RestoreJournal,
  readJournal,
  touchedData,
  writeJournal,
} from '../../backup/journal.js';
import { type LocatedBackup, locateBackup } from '../../backup/locate.js';
import { COMPONENTS, type Component, type ComponentEntry } from '../../backup/manifest.js';
import { verifyWhileProtecting } from '../../backup/pre-restore.js';
import { onePlace, removeOrphanHelpersOnNodes } from '../../backup/swarm-places.js';
import { ToolError } from '../../errors.js';
import { canonical } from '../../safety/approver.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { stackKind } from '../lib/stack-kind.js';
import { repositoryField } from './list-backups.js';
import { backupIdField } from './verify-backup.js';

const input = z.object({
  id: backupIdField
    .optional()
    .describe('Backup id from list_backups; omit (with component) to complete an interrupted restore'),
  component: z.enum(COMPONENTS).optional().describe('Which component of the backup to restore'),
  target: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*(@[A-Za-z0-9][A-Za-z0-9_.-]*)?$/)
    .optional()
    .describe(
      'Only this volume key or agent container (default: every entry of the component); on Swarm a volume backed up on several nodes is key@node',
    ),
  repository: repositoryField
    .optional()
    .describe('Read the backup from this repository (default: local, then each offsite one)'),
  node: z
    .string()
    .max(253)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/)
    .optional()
    .describe(
      "Swarm, volumes: restore onto this node's copy of the volume (its hostname; default: the node the backup was taken on), e.g. the node a service runs on now or one that replaced a node gone from the swarm",
    ),
});
type Input = z.output<typeof input>;

interface Resolved {
  id: string;
  component: Component;
  located: LocatedBackup;
  entries: ComponentEntry[];
  /** A journal left by an earlier run of this same restore: this run completes it. */
  resuming: (RestoreJournal & { interrupted: boolean }) | null;
  /** The safety backup of that run, when it had begun changing data: reused, not written again. */
  keptSafety: string | undefined;
  /** Swarm volumes: the node chosen to restore onto (input, or the interrupted run's). */
  node: string | undefined;
}

async function resolveRestore(ctx: ToolContext, i: Input): Promise<Resolved> {
  const journal = await readJournal(ctx.config, ctx.project);
  if (journal && !journal.interrupted)
    throw new ToolError(
      'busy',
      `a restore of ${journal.component} from ${journal.id} is running (pid ${journal.pid})`,
      {
        hint: 'wait for it to finish (doom-ops health shows it)',
      },
    );
  let id = i.id;
  let component = i.component;
  let targets = i.target ? [i.target] : undefined;
  if (!id) {
    if (!journal)
      throw new ToolError(
        'invalid_input',
        'restore needs a backup id and a component: there is no interrupted restore to complete',
        {
          hint: 'list_backups shows the backups and what each holds',
        },
      );
    if (component && component !== journal.component)
      throw new ToolError(
        'invalid_input',
        `the interrupted restore is of ${journal.component}, not ${component}`,
        {
          hint: `give the backup id to restore ${component} from another backup`,
        },
      );
    id = journal.id;
    component = journal.component as Component;
    targets = journal.targets.length ? journal.targets : undefined;
  }
  const node = i.node ?? (!i.id && journal ? journal.node : undefined);
  if (!component)
    throw new ToolError(
      'invalid_input',
      `which component of backup ${id} to restore? (mongodb, opensearch, duckdb or volumes)`,
    );
  // Only a restore that got as far as changing data holds up restores of other data.
  const blocking = journal && touchedData(journal) ? journal : null;
  if (blocking && blocking.component !== component) throw interruptedConflict(blocking, component);
  // The listing may come from the local repository's cache: every entry is read back through restic
  // before anything is touched.
  const located = await locateBackup(
    ctx,
    id,
    i.repository ?? (!i.id && journal ? journal.repository : undefined),
    { cached: true },
  );
  const m = located.manifest;
  const entries = m.components.filter(
    (e) => e.component === component && (!targets || targets.includes(e.target)),
  );
  if (entries.length === 0) {
    const failed = (m.failures ?? []).filter((f) => f.component === component);
    const pruned = located.pruned.filter((e) => e.component === component);
    throw new ToolError(
      'not_found',
      `backup ${id} has no restorable ${component}${targets ? ` entry for ${targets.join(', ')}` : ''}${
        failed.length ? ` (it failed in that backup: ${failed.map((f) => f.reason).join('; ')})` : ''
      }${pruned.length ? ' (removed by retention)' : ''}`,
      {
        hint: `it holds: ${m.components.map((e) => `${e.component}:${e.target}`).join(', ') || 'nothing restorable'}`,
      },
    );
  }
  // The same data again (from that backup, or from its safety backup): this restore completes the
  // interrupted one. Other data while one is half-restored: refused, or its journal would be lost.
  const same =
    journal &&
    journal.component === component &&
    canonical(journal.targets.slice().sort()) === canonical(entries.map((e) => e.target).sort());
  if (blocking && !same) throw interruptedConflict(blocking, component);
  const resuming = same ? journal : null;
  // Only a run that began changing data keeps its safety backup: before that the data is still
  // current (and may have changed since), so it is backed up again.
  const keptSafety = resuming && touchedData(resuming) ? resuming.safetyBackup : undefined;
  if (node && component !== 'volumes')
    throw new ToolError('invalid_input', `node applies to volumes on a Swarm stack, not to ${component}`);
  return { id, component, located, entries, resuming, keptSafety, node };
}

/** Another restore while one is half-done would lose its journal: refused, saying how to go on. */
function interruptedConflict(journal: RestoreJournal, component: string): ToolError {
  return new ToolError('conflict', `cannot restore ${component} now: ${describeInterrupted(journal)}`, {
    hint: `complete that restore first (doom-ops restore with no arguments)${journal.safetyBackup ? `, or restore ${journal.component} from the safety backup ${journal.safetyBackup}` : ''}; then restore ${component}`,
  });
}

/** What restoring one entry does, in words for the plan; `node`: the swarm node whose copy of a volume is restored. */
function stepFor(e: ComponentEntry, node: string | undefined): string {
  switch (e.component) {
    case 'mongodb':
      return `mongorestore --archive --gzip --drop into ${e.target} (collections are dropped and replaced: ${Object.keys((e.details.collections as object) ?? {}).join(', ') || 'all in the archive'})`;
    case 'opensearch':
      return `close indices ${(e.details.indices as string[]).join(', ')} and restore them from snapshot ${String(e.details.snapshot)}`;
    case 'duckdb':
      return `stop ${e.target}, replace ${String(e.details.path)} with the backup copy, start it`;
    default:
      return node
        ? `on node ${node}: scale the services mounting volume ${volumeKey(e)} to 0, empty it and extract the archive through that node's engine, scale them back`
        : `stop the containers using volume ${e.target}, empty it, extract the archive, start them again`;
  }
}

export const restoreTool = defineTool({
  name: 'restore',
  title: 'Restore from a backup',
  description:
    'Restores one component (mongodb, opensearch, duckdb, volumes; optionally one target) from a complete backup, ' +
    'read from the local restic repository, else from an offsite one (or repository: <name>). Destructive: needs a ' +
    'human approval of the plan. Reads the backup back and checks it while writing a safety backup of the current ' +
    'data, refusing, touching nothing, if either fails; then streams the data from restic into the Engine API ' +
    '(services using it are stopped and always started again). A journal is written first: an interrupted restore ' +
    'is reported by stack_health, and restore with no id completes it.',
  summary:
    "Restore one component's data from a backup, or finish an interrupted restore. Destructive: replaces " +
    'current data after a safety backup and waits for a human approval.',
  risk: 'destructive',
  idempotent: false,
  stackKinds: ['compose', 'swarm'],
  input,
  output: z.object({
    id: z.string(),
    component: z.string(),
    from: z.string().describe('The repository the backup was read from'),
    safetyBackup: z.string(),
    completedInterrupted: z.boolean().describe('This run completed a restore that had been interrupted'),
    restored: z.array(z.object({ target: z.string(), result: z.record(z.string(), z.unknown()) })),
    durationMs: z.number(),
  }),
  async plan(ctx, i) {
    const r = await resolveRestore(ctx, i);
    const swarm = (await stackKind(ctx)) === 'swarm';
    if (swarm && r.component === 'duckdb')
      throw new ToolError(
        'invalid_input',
        `restoring duckdb on a Swarm stack is not supported: the agent's container must be stopped while its play log is replaced, and Swarm replaces a stopped task at once`,
        {
          hint: `scale ${ctx.config.backup.duckdb.service} to 0, copy the file from the restic snapshot list_backups names into its volume, and scale it back`,
        },
      );
    // A backup known to be bad is refused before anyone is asked to approve it.
    const stored = await r.located.verification();
    if (stored && !stored.ok)
      throw new ToolError('failed', `backup ${r.id} failed its last verification; it will not be restored`, {
        hint: 'verify_backup shows what is wrong; pick another backup (list_backups)',
      });
    const targets = r.entries.map((e) => e.target);
    // Refused before anyone is asked, when it cannot be done or would not do what is expected.
    const onNodes = new Map<ComponentEntry, string>();
    if (swarm && r.component === 'volumes')
      for (const e of r.entries) onNodes.set(e, (await swarmVolumeRestore(ctx, e, r.node)).place.node);
    if (!swarm && r.node)
      throw new ToolError(
        'invalid_input',
        `node applies to a Swarm stack; ${ctx.project} is a Compose project`,
      );
    return {
      summary: `${r.resuming ? 'complete the interrupted restore of' : 'restore'} ${r.component}${i.target ? ` (${i.target})` : ''} of ${ctx.project} from backup ${r.id} (${r.located.manifest.created}, ${r.located.where})`,
      steps: [
        ...(r.resuming ? [`complete it: ${describeInterrupted(r.resuming)}`] : []),
        r.keptSafety
          ? `read backup ${r.id} back and check it (checksums, archives), keeping the safety backup ${r.keptSafety} written by the interrupted run (the data now is incomplete); stop here if the check fails`
          : `read backup ${r.id} back and check it (checksums, archives) while writing a safety backup of the current ${r.component} data (${targets.join(', ')}); stop here, changing nothing, if either fails`,
        ...r.entries.map((e) => stepFor(e, onNodes.get(e))),
      ],
      dataAtRisk: [
        `current ${r.component} data changed since ${r.located.manifest.created} is replaced (the safety backup keeps it)`,
      ],
      fingerprint: canonical([
        r.id,
        r.component,
        i.target ?? null,
        r.node ?? null,
        // What exactly is restored: the stream's sha256, or the snapshot of a volume read as a directory.
        r.entries.map((e) => [e.target, e.sha256 ?? e.snapshot ?? null]),
      ]),
    };
  },
  async run(ctx, i) {
    const started = Date.now();
    const r = await resolveRestore(ctx, i);
    const swarm = (await stackKind(ctx)) === 'swarm';
    // Checked again before the journal (the swarm may have changed since the plan): a refusal
    // now touches nothing and leaves nothing behind.
    if (swarm && r.component === 'volumes')
      for (const e of r.entries) await swarmVolumeRestore(ctx, e, r.node);
    const targets = r.entries.map((e) => e.target);
    const journal: RestoreJournal = {
      id: r.id,
      component: r.component,
      targets,
      repository: r.located.repository,
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      host: hostname(),
      pid: process.pid,
      step: r.keptSafety ? 'verifying' : 'verifying and safety-backup',
      stopped: r.resuming?.stopped ?? [],
      touched: Boolean(r.resuming && touchedData(r.resuming)),
      ...(r.node ? { node: r.node } : {}),
      // A kept safety backup stays named whatever this run does.
      ...(r.keptSafety ? { safetyBackup: r.keptSafety } : {}),
    };
    const save = () => writeJournal(ctx.config, ctx.project, journal);
    await save();
    // Helpers of a killed restore (or backup) still hold the volume: remove them first.
    await removeOrphanHelpers(ctx.docker, ctx.signal);
    if (swarm) await removeOrphanHelpersOnNodes(ctx);
    let touched = journal.touched;
    // The helper that empties a volume is started while the checks run (for the next volume: while
    // this one is extracted), so its start-up is off the critical path; it touches nothing until used.
    const helpers: Array<Promise<PreparedVolume | null>> = [];
    const prepare = (e: ComponentEntry | undefined) => {
      const p =
        e?.component !== 'volumes'
          ? Promise.resolve(null)
          : swarm
            ? // On the volume's node; none (the plain way later) when that node cannot be had now.
              swarmVolumeRestore(ctx, e, r.node).then(
                (at) => prepareVolumeRestore(at.place.ctx, { ...e, target: volumeKey(e) }, at.image),
                () => null,
              )
            : prepareVolumeRestore(ctx, e);
      helpers.push(p);
      return p;
    };
    let next = prepare(r.entries[0]);
    const first = r.entries[0];
    let early: Readable | undefined;
    try {
      ctx.progress({
        progress: 0,
        message: `reading backup ${r.id} back from ${r.located.where}${r.keptSafety ? '' : ` while writing a safety backup of ${r.component}`}`,
      });
      // Both must pass before anything is touched; the id is saved with the first step that touches data.
      journal.safetyBackup = await verifyWhileProtecting(ctx, {
        id: r.id,
        component: r.component,
        entries: r.entries,
        source: r.located.source,
        // On Swarm, the copy about to be overwritten: the chosen node's.
        targets: r.node ? r.entries.map((e) => `${volumeKey(e)}@${r.node}`) : targets,
        ...(r.keptSafety ? { safetyBackup: r.keptSafety } : {}),
        // The first entry's restic starts (key derivation, index) while the other check finishes;
        // it reads nothing until the data is written, and is stopped if that never comes.
        onOnePassed: () => {
          if (!first || first.component === 'opensearch' || ctx.signal.aborted) return;
          early = r.located.open(first);
          // Until it is read, a failure (or the cancellation) has no other listener; it is opened again then.
          early.on('error', () => undefined);
        },
      });
      const restored = [];
      for (const [n, e] of r.entries.entries()) {
        const prepared = await next;
        next = prepare(r.entries[n + 1]);
        journal.step = `restoring ${e.target}`;
        journal.touched = true;
        await save();
        touched = true;
        ctx.progress({ progress: 2 + restored.length, message: `restoring ${e.component} ${e.target}` });
        const hooks = {
          alsoStart: journal.stopped,
          onStopped: async (names: string[]) => {
            journal.stopped = [...new Set([...journal.stopped, ...names])];
            await save();
          },
        };
        const open = () => (e === first && early && !early.destroyed ? early : r.located.open(e));
        const result =
          e.component === 'mongodb'
            ? await restoreMongo(
                // On Swarm mongorestore runs in the task's container, through its node's engine.
                swarm
                  ? (await onePlace(ctx, ctx.config.backup.mongodb.service, 'cannot restore MongoDB')).ctx
                  : ctx,
                open,
              )
            : e.component === 'opensearch'
              ? await restoreOpenSearch(ctx, e)
              : e.component === 'duckdb'
                ? await restoreDuckdb(ctx, e, open, hooks)
                : swarm
                  ? await restoreSwarmVolume(ctx, e, open, hooks, prepared, r.node)
                  : await restoreVolume(ctx, e, open, hooks, prepared);
        journal.stopped = [];
        restored.push({ target: e.target, result: result as Record<string, unknown> });
      }
      await clearJournal(ctx.config, ctx.project);
      return {
        id: r.id,
        component: r.component,
        from: r.located.where,
        safetyBackup: journal.safetyBackup,
        completedInterrupted: Boolean(r.resuming),
        restored,
        durationMs: Date.now() - started,
      };
    } catch (err) {
      if (!touched) {
        // Nothing was changed: no journal to leave (an earlier interrupted one stays as it was).
        if (r.resuming) await writeJournal(ctx.config, ctx.project, r.resuming);
        else await clearJournal(ctx.config, ctx.project);
      } else {
        journal.failed = {
          at: new Date().toISOString(),
          reason: ctx.signal.aborted ? 'cancelled' : (err as Error).message.slice(0, 300),
        };
        await save().catch(() => undefined);
        const next = `the ${r.component} data is incomplete: run restore again with no arguments to complete it${journal.safetyBackup ? `, or restore the safety backup ${journal.safetyBackup}` : ''}`;
        if (err instanceof ToolError)
          throw new ToolError(err.code, err.message, {
            hint: `${err.hint ? `${err.hint}; ` : ''}${next}`,
            cause: err,
          });
        throw new ToolError(
          'failed',
          `restore of ${r.component} from ${r.id} failed: ${(err as Error).message}`,
          {
            hint: next,
            cause: err,
          },
        );
      }
      throw err;
    } finally {
      // Unread (the checks failed, or the restore did before it came to it): its restic is stopped.
      if (early && !early.closed) {
        const closed = new Promise((done) => early?.once('close', done));
        early.destroy();
        await closed;
      }
      // Those not used (the checks failed, a restore failed, or it was cancelled) go unopened.
      await Promise.all(helpers.map((p) => p.then((h) => h?.discard())));
    }
  },
});
