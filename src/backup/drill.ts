import { randomBytes } from 'node:crypto';
import { pipeline as pipelineCb, type Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { readArchive, writeArchive } from '../adapters/docker/archive.js';
import { createHelper, removeHelper } from '../adapters/docker/helper.js';
import { countPerCollection, isCountedNamespace, redactMongoUri } from '../adapters/mongodb/client.js';
import { isToolError, ToolError } from '../errors.js';
import type { ToolContext } from '../tools/context.js';
import { redactForProject } from '../tools/lib/secrets.js';
import { sleep } from '../util/concurrency.js';
import { readBackDuckdb, singleFileTar } from './components/duckdb.js';
import { checkMongoStream, restoreMongo } from './components/mongodb.js';
import { checkSnapshot } from './components/opensearch.js';
import { archiveMount } from './components/volumes.js';
import { type DrillSummary, saveRecord } from './drill-record.js';
import { HashCount } from './hash-sink.js';
import type { LocatedBackup } from './locate.js';
import type { ComponentEntry } from './manifest.js';
import { parseSumLine, TarCheck } from './tar-check.js';

/** Labels on everything a drill creates: whose stack it drills and which scratch project it is. */
export const DRILL_LABEL = 'doom-ops.drill';
const DRILL_PROJECT_LABEL = 'doom-ops.drill.project';
const MOUNT = '/volume';

export interface DrillCheck {
  component: string;
  target: string;
  status: 'ok' | 'failed' | 'skipped';
  detail: string;
}

/** A scratch project for one drill: its volumes and containers, removed at the end whatever happens. */
class Scratch {
  readonly name = `doom-ops-drill-${randomBytes(4).toString('hex')}`;
  private readonly volumes: string[] = [];
  private readonly containers: string[] = [];
  private readonly networks: string[] = [];

  constructor(private readonly ctx: ToolContext) {}

  get labels(): Record<string, string> {
    return { [DRILL_LABEL]: this.ctx.project, [DRILL_PROJECT_LABEL]: this.name };
  }

  async volume(key: string): Promise<string> {
    const name = `${this.name}_${key}`;
    // Tracked before it is asked for: a cancel may return before the engine has made it.
    this.volumes.push(name);
    await this.ctx.docker.call(`create volume ${name}`, this.ctx.signal, () =>
      this.ctx.docker.docker.createVolume({ Name: name, Labels: this.labels }),
    );
    return name;
  }

  /** A scratch volume for `key` mounted rw at `mount` (default /volume) in a helper (never started) for `fn`; the helper is removed after. */
  async withHelper<T>(
    key: string,
    image: string,
    fn: (helper: string, volume: string) => Promise<T>,
    mount = MOUNT,
  ): Promise<T> {
    const volume = await this.volume(key);
    const helper = await createHelper(this.ctx.docker, {
      image,
      mounts: [{ volume, target: mount, readOnly: false }],
      purpose: `drill ${this.name} ${key}`,
      signal: this.ctx.signal,
    });
    try {
      return await fn(helper, volume);
    } finally {
      await removeHelper(this.ctx.docker, helper);
    }
  }

  /**
   * An internal bridge network of this scratch project (no route out, no other container on it;
   * this host reaches its containers), named as the project. Removed with the rest.
   */
  async network(): Promise<string> {
    // Tracked before it is asked for, as volumes are.
    this.networks.push(this.name);
    await this.ctx.docker.call(`create network ${this.name}`, this.ctx.signal, () =>
      this.ctx.docker.docker.createNetwork({
        Name: this.name,
        Driver: 'bridge',
        Internal: true,
        CheckDuplicate: true,
        Labels: this.labels,
      }),
    );
    return this.name;
  }

  track(containerId: string): void {
    this.containers.push(containerId);
  }

  async remove(): Promise<void> {
    for (const id of this.containers)
      await this.ctx.docker
        .call('remove drill container', undefined, (s) =>
          this.ctx.docker.docker.getContainer(id).remove({ force: true, v: true, abortSignal: s } as object),
        )
        .catch(() => undefined);
    for (const v of this.volumes)
      await this.ctx.docker
        .call(`remove volume ${v}`, undefined, (s) =>
          this.ctx.docker.docker.getVolume(v).remove({ abortSignal: s } as object),
        )
        .catch(() => undefined);
    for (const n of this.networks)
      await this.ctx.docker
        .call(`remove network ${n}`, undefined, (s) =>
          this.ctx.docker.docker.getNetwork(n).remove({ abortSignal: s } as object),
        )
        .catch(() => undefined);
  }
}

/** `tar` of one directory: every regular file's sha256 (names as the archive API gives them). */
async function fileSums(tar: Readable): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ex = extract();
  const { createHash } = await import('node:crypto');
  ex.on('entry', (h, stream, next) => {
    const file = h.type === 'file' || h.type === 'contiguous-file';
    const hash = createHash('sha256');
    stream.on('data', (c: unknown) => file && hash.update(c as Buffer));
    stream.on('end', () => {
      if (file) out.set(h.name.replace(/^\.?\/+/, ''), hash.digest('hex'));
      next();
    });
  });
  await new Promise<void>((res, rej) => {
    ex.on('finish', res);
    ex.on('error', rej);
    pipelineCb(tar, ex as unknown as NodeJS.WritableStream, (err) => err && rej(err));
  });
  return out;
}

/** `sha256  path` lines to path → sha256. */
async function readSums(source: Readable): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let rest = '';
  const add = (l: string) => {
    const p = parseSumLine(l);
    if (p) out.set(p[0].replace(/^\.?\/+/, ''), p[1]);
  };
  for await (const chunk of source) {
    const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    lines.forEach(add);
  }
  add(rest);
  return out;
}

/** Streams `data` through a hash into `sink`; checks size and sha256 against the entry. */
async function hashedInto(
  data: Readable,
  e: ComponentEntry,
  sink: (s: Readable) => Promise<void>,
): Promise<void> {
  const hash = new HashCount();
  pipelineCb(data, hash, () => undefined);
  await sink(hash).catch((err: unknown) => {
    // A sink that failed may not have consumed it: stop the source (restic's dump) with it.
    hash.destroy(err as Error);
    throw err;
  });
  if (hash.bytes !== e.bytes || (e.sha256 && hash.digest() !== e.sha256))
    throw new Error(`the restored stream (${hash.bytes} bytes) does not match the recorded size and sha256`);
}

async function drillVolume(
  ctx: ToolContext,
  b: LocatedBackup,
  e: ComponentEntry,
  scratch: Scratch,
  image: string,
) {
  const mount = archiveMount(e);
  return scratch.withHelper(
    e.target,
    image,
    async (helper, volume) => {
      let want: Map<string, string>;
      let what: string;
      if (e.tree) {
        // restic checks every chunk's SHA-256 as it reads (its content hashes are the recorded
        // checksums); each file's sha256 is taken from that stream and compared below with the
        // file as it landed in the scratch volume. The counts must match what restic backed up.
        const tar = new TarCheck({ sums: true });
        pipelineCb(b.open(e), tar, () => undefined);
        try {
          [want] = await Promise.all([
            readSums(tar.sums!),
            writeArchive(ctx.docker, helper, '/', tar, ctx.signal),
          ]);
        } catch (err) {
          // Stops restic's dump too (the pipeline passes the error back), so it leaves no lock.
          tar.destroy(err as Error);
          throw err;
        }
        if (tar.files !== e.details.files || tar.fileBytes !== e.details.fileBytes)
          throw new Error(
            `the snapshot holds ${tar.files} file(s) of ${tar.fileBytes} bytes; restic backed up ${String(e.details.files)} of ${String(e.details.fileBytes)}`,
          );
        what = `each matching the sha256 of restic's copy (restic checked every chunk's hash as it read)`;
      } else {
        await hashedInto(b.open(e), e, (s) => writeArchive(ctx.docker, helper, '/', s, ctx.signal));
        const sums = b.store?.sums(e);
        if (!sums)
          return `restored into scratch volume ${volume}; archive sha256 ok (no per-file checksums recorded: a pre-restic backup)`;
        want = await readSums(sums);
        what = 'each matching its recorded sha256';
      }
      const got = await fileSums(await readArchive(ctx.docker, helper, mount, ctx.signal));
      const missing = [...want.keys()].filter((k) => !got.has(k));
      const differ = [...want.keys()].filter((k) => got.has(k) && got.get(k) !== want.get(k));
      const extra = [...got.keys()].filter((k) => !want.has(k));
      if (missing.length || differ.length || extra.length)
        throw new Error(
          `restored files do not match the recorded checksums: ${[
            missing.length ? `${missing.length} missing (${missing.slice(0, 3).join(', ')})` : '',
            differ.length ? `${differ.length} differ (${differ.slice(0, 3).join(', ')})` : '',
            extra.length ? `${extra.length} unexpected (${extra.slice(0, 3).join(', ')})` : '',
          ]
            .filter(Boolean)
            .join('; ')}`,
        );
      return `restored into scratch volume ${volume}: ${want.size} file(s), ${what}`;
    },
    mount,
  );
}

async function drillDuckdb(
  ctx: ToolContext,
  b: LocatedBackup,
  e: ComponentEntry,
  scratch: Scratch,
  image: string,
) {
  return scratch.withHelper(`duckdb-${e.target}`, image, async (helper, volume) => {
    const owner = (e.details.owner ?? {}) as { mode?: number; uid?: number; gid?: number };
    await writeArchive(
      ctx.docker,
      helper,
      MOUNT,
      singleFileTar(b.open(e), 'play_logs.duckdb', e.bytes, owner),
      ctx.signal,
    );
    // Read back out of the scratch volume and opened with DuckDB: the copy as a restore leaves it.
    const tar = await readArchive(ctx.docker, helper, `${MOUNT}/play_logs.duckdb`, ctx.signal);
    const file = await firstFile(tar);
    const r = await readBackDuckdb(ctx, file, e.sha256 ?? '');
    const want = (e.details.tables ?? {}) as Record<string, number>;
    if (JSON.stringify(r.tables) !== JSON.stringify(want))
      throw new Error(
        `row counts ${JSON.stringify(r.tables)} differ from the recorded ${JSON.stringify(want)}`,
      );
    const counts =
      Object.entries(r.tables)
        .map(([t, n]) => `${t}: ${n} rows`)
        .join(', ') || 'no tables';
    return `restored into scratch volume ${volume}; DuckDB opens, row counts as recorded (${counts})`;
  });
}

/** The content of the first regular file of a tar stream, as a stream. */
function firstFile(tar: Readable): Promise<Readable> {
  return new Promise((res, rej) => {
    const ex = extract();
    let found = false;
    ex.on('entry', (h, stream, next) => {
      if (!found && (h.type === 'file' || h.type === 'contiguous-file')) {
        found = true;
        res(stream as unknown as Readable);
        stream.on('end', next);
      } else {
        stream.on('end', next);
        stream.resume();
      }
    });
    ex.on('finish', () => !found && rej(new Error('the archive holds no file')));
    ex.on('error', rej);
    pipelineCb(tar, ex as unknown as NodeJS.WritableStream, (err) => err && rej(err));
  });
}

async function drillMongo(
  ctx: ToolContext,
  b: LocatedBackup,
  e: ComponentEntry,
  scratch: Scratch,
): Promise<DrillCheck> {
  const cfg = ctx.config.backup.mongodb;
  const live = (await ctx.docker.listStack(ctx.project, ctx.signal)).find(
    (c) => c.service === cfg.service && !c.oneoff,
  );
  const check = async (why: string): Promise<DrillCheck> => {
    let content = '';
    await hashedInto(b.open(e), e, async (s) => {
      content = await checkMongoStream(s);
    });
    return {
      component: 'mongodb',
      target: e.target,
      status: 'skipped',
      detail: `${why}; the archive was read back instead: sha256 ok, ${content}`,
    };
  };
  if (!live) return check(`no ${cfg.service} container to take the image from`);
  const d = await ctx.docker.docker.getContainer(live.id).inspect();
  // A network doom-ops reaches the scratch mongod on, for counting through the driver; without
  // one it runs with no network, as before, and only mongorestore's total is checked.
  const net = await scratchNetwork(ctx, scratch);
  const name = `${scratch.name}-mongodb`;
  const c = await ctx.docker.createContainer('create scratch mongodb', ctx.signal, {
    name,
    Image: d.Config.Image,
    Env: d.Config.Env,
    Cmd: d.Config.Cmd,
    Entrypoint: d.Config.Entrypoint,
    Labels: scratch.labels,
    HostConfig: { NetworkMode: net.network ?? 'none' },
  });
  scratch.track(c.id);
  await ctx.docker.call('start scratch mongodb', ctx.signal, (s) => c.start({ abortSignal: s } as object));
  const has = await ctx.docker
    .exec(c.id, ['sh', '-c', 'command -v mongorestore'], { signal: ctx.signal, timeoutMs: 30_000 })
    .catch(() => null);
  if (has?.exitCode !== 0) return check(`image ${d.Config.Image} has no mongorestore (or no shell)`);
  const recorded = (e.details.collections ?? {}) as Record<string, number>;
  const want = Object.values(recorded).reduce((n, x) => n + x, 0);
  const restoreDeadline = Date.now() + 90_000;
  let restored: number | null;
  for (;;) {
    try {
      restored = (await restoreMongo(ctx, () => b.open(e), { id: c.id, name })).restored;
      break;
    } catch (err) {
      // mongod in the scratch container may still be starting: retry until the deadline.
      if (ctx.signal.aborted || Date.now() > restoreDeadline) throw err;
      await sleep(2000, ctx.signal);
    }
  }
  if (restored !== null && restored !== want)
    throw new ToolError(
      'failed',
      `mongorestore restored ${restored} document(s), the backup recorded ${want}`,
    );
  const total = `mongorestore into scratch container ${name}: ${restored ?? '?'} document(s), as recorded`;
  if (!net.network)
    return ok(`${total} (mongorestore's total; per-collection counts not checked: ${net.why})`);
  const counted = await countScratch(ctx, c.id, name, net.network);
  if ('why' in counted)
    return ok(`${total} (mongorestore's total; per-collection counts not checked: ${counted.why})`);
  const compared = compareCounts(recorded, counted.counts);
  if (compared.differ.length)
    throw new ToolError(
      'failed',
      `restored document counts differ from the backup's (counted through the driver at ${counted.at}): ${compared.differ.join('; ')}`,
    );
  return ok(
    compared.checked.length
      ? `${total}; counted through the driver at ${counted.at}: ${compared.checked.length} collection(s) as recorded (${compared.checked.join(', ')})`
      : `${total}; counted through the driver at ${counted.at}: the backup recorded no collection to compare`,
  );

  function ok(detail: string): DrillCheck {
    return { component: 'mongodb', target: e.target, status: 'ok', detail };
  }
}

/** backup.drill.mongodbNetwork, or a network of the drill's own; none (with why) when it cannot be made. */
async function scratchNetwork(
  ctx: ToolContext,
  scratch: Scratch,
): Promise<{ network: string; why?: undefined } | { network?: undefined; why: string }> {
  const named = ctx.config.backup.drill?.mongodbNetwork;
  if (named) return { network: named };
  try {
    return { network: await scratch.network() };
  } catch (err) {
    if (ctx.signal.aborted || !isToolError(err)) throw err;
    return { why: `no network for the scratch mongod (${err.message})` };
  }
}

/**
 * Documents per collection in the scratch mongod, through the driver at backup.drill.mongodbUri
 * ({ip}: the container's address on `network`, {name}: its name; the user and password of
 * backup.mongodb.uri when the template has none). `why` when the driver got no count (it cannot
 * reach the scratch mongod, or is refused): the drill then falls back to mongorestore's total.
 */
async function countScratch(
  ctx: ToolContext,
  id: string,
  name: string,
  network: string,
): Promise<{ counts: Record<string, number>; at: string } | { why: string }> {
  const info = await ctx.docker.call('inspect scratch mongodb', ctx.signal, () =>
    ctx.docker.docker.getContainer(id).inspect(),
  );
  const ip = info.NetworkSettings.Networks?.[network]?.IPAddress ?? '';
  const template = ctx.config.backup.drill?.mongodbUri ?? 'mongodb://{ip}:27017';
  if (template.includes('{ip}') && !ip)
    return { why: `the scratch container has no address on network ${network}` };
  const uri = scratchUri(
    template.replaceAll('{ip}', ip).replaceAll('{name}', name),
    ctx.config.backup.mongodb.uri,
  );
  try {
    const counts = await countPerCollection(uri, {
      timeoutMs: ctx.config.mongodb?.timeout ?? 5000,
      signal: ctx.signal,
    });
    return { counts, at: redactMongoUri(uri) };
  } catch (err) {
    if (ctx.signal.aborted || !isToolError(err)) throw err;
    return { why: err.message };
  }
}

/**
 * `uri` with the user, password and auth options (authSource, authMechanism) of `credentials`
 * when it has no user of its own, and directConnection=true: the scratch mongod is one server,
 * whatever replica set its command line names.
 */
export function scratchUri(uri: string, credentials: string): string {
  const parts = (u: string) => /^([a-z+]+:\/\/)(?:(.*)@)?([^/?]*)(\/[^?]*)?(?:\?(.*))?$/i.exec(u);
  const target = parts(uri);
  if (!target) return uri;
  const [, scheme, user, hosts, path] = target;
  const query = new URLSearchParams(target[5] ?? '');
  let auth = user;
  const from = parts(credentials);
  if (!auth && from?.[2]) {
    auth = from[2];
    const theirs = new URLSearchParams(from[5] ?? '');
    for (const k of ['authSource', 'authMechanism'])
      if (theirs.has(k) && !query.has(k)) query.set(k, theirs.get(k)!);
  }
  query.delete('replicaSet');
  query.set('directConnection', 'true');
  return `${scheme}${auth ? `${auth}@` : ''}${hosts}${path ?? '/'}?${query.toString()}`;
}

/**
 * The recorded per-collection counts (mongodump's "done dumping db.coll (N documents)") against
 * the restored ones, for the namespaces countPerCollection counts (isCountedNamespace). `differ`
 * names each collection whose count is not the one recorded (or that is missing); `checked` lists
 * those that match.
 */
export function compareCounts(
  recorded: Record<string, number>,
  restored: Record<string, number>,
): { differ: string[]; checked: string[] } {
  const differ: string[] = [];
  const checked: string[] = [];
  for (const [ns, want] of Object.entries(recorded).sort(([a], [b]) => a.localeCompare(b))) {
    if (!isCountedNamespace(ns)) continue;
    const got = restored[ns];
    if (got === undefined) differ.push(`${ns}: missing after the restore (${want} recorded)`);
    else if (got !== want) differ.push(`${ns}: ${got} restored, ${want} recorded`);
    else checked.push(`${ns}: ${got}`);
  }
  return { differ, checked };
}

/**
 * Restores backup `b` into throwaway volumes and containers of a scratch project (never the live
 * stack): each volume archive is extracted into a scratch volume and every file checked against
 * the sha256 recorded at backup time; each DuckDB copy is written into a scratch volume, read back
 * and opened, its row counts compared; the mongodump archive is restored into a scratch container
 * of the mongodb service's image when it has mongorestore (otherwise read back and checked); the
 * OpenSearch snapshot is checked to exist with its indices. The scratch resources are removed
 * whatever happens. The result is recorded for health ("restorable as of <backup time>").
 */
export async function runDrill(ctx: ToolContext, b: LocatedBackup) {
  const started = Date.now();
  const scratch = new Scratch(ctx);
  const checks: DrillCheck[] = [];
  try {
    const stack = await ctx.docker.listStack(ctx.project, ctx.signal);
    const image = (
      await ctx.docker.inspectMany(
        stack.slice(0, 1).map((c) => c.id),
        ctx.signal,
      )
    )[0]?.image;
    for (const e of b.manifest.components) {
      ctx.progress({
        progress: checks.length,
        total: b.manifest.components.length,
        message: `drill: ${e.component} ${e.target}`,
      });
      try {
        if (e.component === 'mongodb') {
          checks.push(await drillMongo(ctx, b, e, scratch));
          continue;
        }
        if (e.component === 'opensearch') {
          const detail = await checkSnapshot(ctx, e).catch((err: Error) => {
            if (/ECONNREFUSED|ENOTFOUND|timeout|socket/i.test(err.message)) return null;
            throw err;
          });
          checks.push(
            detail
              ? { component: e.component, target: e.target, status: 'ok', detail }
              : {
                  component: e.component,
                  target: e.target,
                  status: 'skipped',
                  detail: 'OpenSearch does not answer: the snapshot was not checked',
                },
          );
          continue;
        }
        if (!image)
          throw new ToolError('not_found', `no container of ${ctx.project} to take a helper image from`, {
            hint: 'start the stack (or one service of it) before the drill',
          });
        const detail =
          e.component === 'volumes'
            ? await drillVolume(ctx, b, e, scratch, image)
            : await drillDuckdb(ctx, b, e, scratch, image);
        checks.push({ component: e.component, target: e.target, status: 'ok', detail });
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        const msg = isToolError(err) ? err.message : (err as Error).message;
        checks.push({
          component: e.component,
          target: e.target,
          status: 'failed',
          detail: await redactForProject(ctx, msg),
        });
      }
    }
  } finally {
    await scratch.remove();
  }
  const failed = checks.filter((c) => c.status === 'failed');
  const ok = failed.length === 0 && checks.some((c) => c.status === 'ok');
  const missing = (b.manifest.failures ?? []).map((f) => `${f.component}${f.target ? ` ${f.target}` : ''}`);
  const detail = ok
    ? `backup ${b.id} restorable as of ${b.manifest.created} (${checks.length} part(s), ${checks.filter((c) => c.status === 'skipped').length} not fully checked${
        missing.length ? `; not in this ${b.manifest.phase ?? ''} backup: ${missing.join(', ')}` : ''
      }${b.manifest.kind !== 'full' ? `; a ${b.manifest.kind}-only backup` : ''})`
    : `backup ${b.id} is NOT restorable: ${failed.map((c) => `${c.component}:${c.target}: ${c.detail}`).join('; ') || 'nothing could be checked'}`;
  const summary: DrillSummary = {
    at: new Date().toISOString(),
    backup: b.id,
    backupCreated: b.manifest.created,
    ok,
    detail,
  };
  await saveRecord(ctx, summary);
  return {
    backup: b.id,
    backupCreated: b.manifest.created,
    where: b.where,
    scratchProject: scratch.name,
    restorable: ok,
    restorableAsOf: ok ? b.manifest.created : null,
    summary: detail,
    checks,
    durationMs: Date.now() - started,
  };
}
