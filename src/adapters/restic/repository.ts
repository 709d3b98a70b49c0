import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { z } from 'zod';
import { ToolError } from '../../errors.js';
import { Semaphore } from '../../util/concurrency.js';
import { fileSystemError } from '../../util/fs-errors.js';
import { LineSplitter } from '../docker/line-splitter.js';
import { displayUrl, resticFailure } from './errors.js';
import { describePassword, type ResticPassword } from './password.js';
import { type ResticExit, type ResticProcess, startRestic } from './process.js';
import {
  type BackupSummaryJson,
  backupLineSchema,
  configSchema,
  forgetOutputSchema,
  type ResticSnapshotJson,
  snapshotListSchema,
} from './schemas.js';

/**
 * One restic repository as doom-ops uses it.
 *  - `url`: what restic takes as `--repo`: a local path, `sftp:user@host:/path`, `rclone:remote:path`,
 *    `rest:https://…`, `s3:…`.
 *  - `password`: `{ file }` or `{ env }` (see ResticPassword); handed to restic in its environment only.
 *  - `options`: restic extended options `key=value`, passed as `--option=key=value` (e.g.
 *    `sftp.command=ssh -p 2222 -i key user@host -s sftp`; restic splits that string itself,
 *    honouring quotes, and runs it without a shell).
 *  - `env`: extra environment for restic (and the rclone/ssh it starts): RCLONE_CONFIG_*, AWS_*,
 *    RESTIC_CACHE_DIR, …
 */
export interface ResticRepositoryConfig {
  url: string;
  password: ResticPassword;
  options?: string[];
  env?: Record<string, string>;
}

/** How restic is run: the binary (default `restic` from PATH) and the SIGINT → SIGKILL grace (ms, default 10 000). */
export interface ResticRuntime {
  binary?: string;
  killAfterMs?: number;
  /**
   * For a local repository: a file where snapshots() keeps the last full listing. restic names each
   * snapshot file by its id (the hash of its content), so while the repository's snapshots/
   * directory holds exactly the listed ids, the listing is the same and no restic run is needed.
   */
  listingCache?: string;
}

/** A snapshot as `snapshots()` returns it. */
export interface ResticSnapshot {
  /** Full id, 64 hex digits. */
  id: string;
  /** restic's 8-hex short id. */
  shortId: string;
  /** When the backup started, RFC 3339 as restic prints it (nanoseconds, UTC offset). */
  time: string;
  tags: string[];
  /** Absolute paths in the snapshot: for a stdin backup `/<stdin filename>`. */
  paths: string[];
  hostname: string;
  /** For a snapshot made by `copy`: the id of the snapshot it was copied from. */
  original?: string;
}

/** What one `backupStream()` stored. */
export interface BackupStreamResult {
  /** Id of the new snapshot: full (64 hex), or restic's short id when asked (`fullId: false`). */
  snapshotId: string;
  /**
   * Bytes of new data restic added to the repository for this backup (its `data_added`: new blobs
   * after deduplication, before compression, plus the snapshot's tree metadata). An unchanged stream
   * backed up again adds almost nothing.
   */
  bytesAdded: number;
  /** Bytes read from the stream. */
  totalBytes: number;
  /** Duration of the backup as restic measured it (ms). */
  durationMs: number;
}

/** One group of `forget()`: the snapshots kept and removed in it (full ids, newest first as restic lists them). */
export interface ForgetGroup {
  tags: string[];
  host: string;
  paths: string[];
  keep: string[];
  remove: string[];
}

export interface ForgetOptions {
  /** Keep the newest snapshot of each of the last N days that have one (0: none by this rule). */
  keepDaily: number;
  /** Keep the newest snapshot of each of the last N weeks that have one (0: none by this rule). */
  keepWeekly: number;
  /** Also keep the N newest snapshots. */
  keepLast?: number;
  /**
   * restic's `--group-by`: a comma-separated subset of `host`, `paths`, `tags` ("" = one group). The
   * policy applies to each group on its own, so the newest snapshot of every group stays.
   */
  groupBy: string;
  /** Only consider snapshots that carry all of these tags. */
  tags?: string[];
  /** List what would be kept and removed; change nothing. */
  dryRun: boolean;
  /** After removing snapshots, delete the data only they used (`restic prune`); not with dryRun. */
  prune: boolean;
  signal?: AbortSignal;
}

export interface ForgetResult {
  groups: ForgetGroup[];
  dryRun: boolean;
  /** Whether prune ran, and its report (the last lines of restic prune's text output). */
  prune: { ran: boolean; report: string };
}

/** Result of `check()`: ok, or the problems restic found (its stderr lines, "Fatal: …" dropped). */
export interface CheckResult {
  ok: boolean;
  errors: string[];
}

const HEX_ID = /^[0-9a-f]{4,64}$/;
const OPTION = /^[A-Za-z0-9_.-]+=/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Inherited variables that would choose another repository or password than the configured ones. */
const INHERITED_REPO_ENV = /^RESTIC_(REPOSITORY(_FILE)?|PASSWORD(_FILE|_COMMAND)?|KEY_HINT|FROM_\w+)$/;
/** Short restic commands running at once in this process (see exec). */
const COMMANDS = new Semaphore(3);
/** Repositories being ensured in this process, by URL: ensureRepository runs one at a time per URL. */
const ensuring = new Map<string, Promise<unknown>>();
/** restic's remote backends; any other URL is a local path (optionally `local:`-prefixed). */
const REMOTE = /^(sftp|rest|rclone|s3|b2|azure|gs|swift):/;

/** The file-system path of a local repository URL, or undefined for a remote one. */
function localPath(url: string): string | undefined {
  if (url.startsWith('local:')) return url.slice('local:'.length);
  return REMOTE.test(url) ? undefined : url;
}

const GROUP_BY = /^((host|paths|tags)(,(host|paths|tags))*)?$/;
const SUBSET = /^(\d+\/\d+|\d+(\.\d+)?%|\d+[kKmMgGtT]?)$/;
/** The most JSON doom-ops buffers from one restic listing (snapshots, forget): far above real repositories. */
const MAX_JSON = 64 * 1024 * 1024;

function invalid(message: string, hint?: string): ToolError {
  return new ToolError('invalid_input', message, hint ? { hint } : {});
}

function checkTags(tags: string[] | undefined): string[] {
  for (const t of tags ?? [])
    if (!/^[^,\s][^,\r\n\0]*$/.test(t) || t.trim() !== t)
      throw invalid(
        `restic tag ${JSON.stringify(t)} is not usable: tags must be non-empty, without commas (restic splits tag lists on them), line breaks or surrounding spaces`,
      );
  return tags ?? [];
}

function checkSnapshotId(id: string): string {
  if (!HEX_ID.test(id))
    throw invalid(`snapshot id ${JSON.stringify(id)} is not a restic snapshot id (4 to 64 hex digits)`);
  return id;
}

/** `mongodb/main.archive` → `/mongodb/main.archive` (how restic names a stdin file in a snapshot). */
function snapshotPath(filename: string): string {
  const rel = filename.replace(/^\/+/, '');
  const parts = rel.split('/');
  if (
    rel === '' ||
    rel.length > 4096 ||
    /[\0\r\n]/.test(rel) ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  )
    throw invalid(
      `file name ${JSON.stringify(filename)} cannot name a file in a snapshot: use a relative path without empty, . or .. parts`,
    );
  return `/${rel}`;
}

function throwIfAborted(signal: AbortSignal | undefined, what: string, url: string): void {
  if (signal?.aborted)
    throw new ToolError('cancelled', `cannot ${what}: cancelled before restic started (repository ${url})`);
}

function toSnapshot(s: ResticSnapshotJson): ResticSnapshot {
  return {
    id: s.id,
    shortId: s.short_id ?? s.id.slice(0, 8),
    time: s.time,
    tags: s.tags ?? [],
    paths: s.paths ?? [],
    hostname: s.hostname,
    ...(s.original ? { original: s.original } : {}),
  };
}

/**
 * backupDirectory() could not read some items of the directory: permission denied, or an error
 * restic gives no errno for (a directory it could not list, a file that changed type). restic's
 * snapshot then lacks them, so it is not kept.
 */
export class UnreadableFilesError extends ToolError {
  constructor(
    message: string,
    /** Up to 10 of the items, each `path (reason)`. */
    readonly paths: string[],
    /** What became of the incomplete snapshot: removed, not saved, left for the caller, or could not be removed (and how to). */
    readonly removal: string,
    /** The incomplete snapshot's id when it was left for the caller to remove (keepIncomplete). */
    readonly snapshotId?: string,
  ) {
    super('failed', message, {
      hint: 'run doom-ops as a user that can read the whole directory, or let the Docker engine read it',
    });
  }
}

/**
 * Listing found snapshot files restic could not load (damaged or truncated in the repository): a
 * snapshot restic skips is one whose backup and tags are unknown, so nothing may be decided (and
 * nothing removed) as if it were not there. `readable` holds what restic could list.
 */
export class DamagedSnapshotsError extends ToolError {
  constructor(
    readonly what: string,
    repo: string,
    readonly readable: ResticSnapshot[],
    /** Each `shortid (restic's reason)`. */
    readonly unreadable: string[],
  ) {
    super(
      'failed',
      `cannot ${what}: restic could not load ${unreadable.length} snapshot file(s) of it (${unreadable.slice(0, 3).join(', ')}); the repository is damaged`,
      {
        hint: `run doom-ops verify (restic check) on ${repo}; put the snapshot file back from an offsite copy of the repository, or, once you know which backup it belonged to, remove it with restic forget <id>`,
      },
    );
  }
}

/** A local repository path (plain, or `local:`) made absolute; other backends' URLs as they are. */
function absoluteLocalUrl(url: string): string {
  if (url.startsWith('local:')) return `local:${resolve(url.slice(6))}`;
  if (/^[a-z0-9]+:/i.test(url)) return url;
  return resolve(url);
}

/** errno restic reports for a file that vanished between its listing and its read (ENOENT). */
const VANISHED_ERRNO = 2;
const ERRNO_WORDS: Record<number, string> = { 1: 'operation not permitted', 13: 'permission denied' };

/**
 * Reads the JSON lines of a running `restic backup --json`: progress to `onProgress` and the
 * summary line from stdout. Per-item errors (messages and the paths they name: restic 0.14 writes
 * them to stderr as JSON lines) are read from the exit's stderr by `itemErrorsOf`. Lines are cut at 1 MiB.
 */
function backupOutput(p: ResticProcess, onProgress?: (bytes: number) => void) {
  const out = { summary: undefined as BackupSummaryJson | undefined };
  const lines = new LineSplitter(1024 * 1024);
  const onLine = (line: string) => {
    const m = backupLine(line);
    if (m?.message_type === 'status' && m.bytes_done !== undefined) onProgress?.(m.bytes_done);
    else if (m?.message_type === 'summary') out.summary = m;
  };
  p.stdout.on('data', (chunk: Buffer) => {
    for (const l of lines.push(chunk)) onLine(l);
  });
  p.stdout.once('end', () => {
    for (const l of lines.flush()) onLine(l);
  });
  return out;
}

function backupLine(line: string) {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = backupLineSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The per-item error lines of a finished `restic backup --json` run in `cwd` (its stderr, the last
 * 64 KiB): every message, the items that vanished while restic read the directory (errno ENOENT:
 * the snapshot is still whole for what exists), and every other item, each `path (reason)`, one
 * per path (restic reports a directory from its scan and its archival, relative to `cwd` in the
 * latter). restic 0.14's `error` is `{"Op":"open","Path":…,"Err":13}` for an errno and `{}` for
 * errors it wraps: a directory it could not list, a file that changed type; those are unreadable.
 */
function itemErrorsOf(
  exit: ResticExit,
  cwd: string,
): { messages: string[]; vanished: string[]; unreadable: string[] } {
  const messages: string[] = [];
  const vanished = new Set<string>();
  const unreadable = new Map<string, string>();
  for (const line of exit.stderr.split('\n')) {
    const m = backupLine(line.trim());
    if (m?.message_type !== 'error') continue;
    const errno = (m.error as { Err?: unknown } | undefined)?.Err;
    const why = typeof errno === 'number' ? ` (errno ${errno})` : '';
    messages.push(`${m.during ?? 'error'} ${m.item ?? ''}${why}`);
    const item = m.item ? resolve(cwd, m.item) : `an item restic did not name (${m.during ?? 'error'})`;
    if (errno === VANISHED_ERRNO) vanished.add(item);
    else if (!unreadable.has(item))
      unreadable.set(
        item,
        typeof errno === 'number'
          ? (ERRNO_WORDS[errno] ?? `errno ${errno}`)
          : 'restic gave no reason: a directory it could not list, or a file that changed type',
      );
  }
  for (const v of vanished) unreadable.delete(v);
  return {
    messages,
    vanished: [...vanished],
    unreadable: [...unreadable].map(([path, why]) => `${path} (${why})`),
  };
}

/**
 * A typed wrapper over the restic CLI (0.14 or later) for one repository. Every call runs restic
 * with an argument array (no shell), the password in the child's environment only, stdin at
 * /dev/null unless data is streamed in. Failures are ToolErrors (see resticFailure in errors.ts):
 * wrong password, no repository there, locked (with the holder and `restic unlock`), restic not
 * installed, server unreachable, cancelled. Aborting a signal stops restic with SIGINT, on which
 * restic 0.14 removes its lock and saves nothing.
 */
export class ResticRepository {
  readonly url: string;
  private readonly binary: string;
  private readonly killAfterMs: number;

  /** Errors: ToolError config_invalid for an empty URL, an option that is not `key=value`, a bad env name. */
  constructor(
    readonly config: ResticRepositoryConfig,
    runtime: ResticRuntime = {},
  ) {
    if (!config.url || /[\0\r\n]/.test(config.url))
      throw new ToolError(
        'config_invalid',
        `restic repository URL ${JSON.stringify(config.url)} is not usable`,
      );
    for (const o of config.options ?? [])
      if (!OPTION.test(o))
        throw new ToolError(
          'config_invalid',
          `restic option ${JSON.stringify(o)} of repository ${displayUrl(config.url)} is not key=value`,
        );
    for (const k of Object.keys(config.env ?? {}))
      if (!ENV_NAME.test(k) || INHERITED_REPO_ENV.test(k))
        throw new ToolError(
          'config_invalid',
          `environment variable ${k} cannot be set for restic repository ${displayUrl(config.url)}`,
          { hint: 'the repository and its password are set by url and password, not by RESTIC_* variables' },
        );
    // Paths are made absolute here: a restic run for backupDirectory() works in another directory.
    this.url = absoluteLocalUrl(config.url);
    const binary = runtime.binary ?? 'restic';
    this.binary = binary.includes('/') ? resolve(binary) : binary;
    this.killAfterMs = runtime.killAfterMs ?? 10_000;
    this.listingCache = runtime.listingCache;
  }

  private readonly listingCache: string | undefined;

  /** The URL as shown to users (a password inside it masked). */
  get displayUrl(): string {
    return displayUrl(this.url);
  }

  /**
   * Makes sure the repository exists: `cat config`, and `init` when restic says there is no
   * repository there. Idempotent. `chunkerParamsFrom` (for a repository filled by `copyTo`): init
   * with that repository's chunker parameters (`--copy-chunker-params`), so copied data deduplicates
   * with data backed up to this repository directly.
   * Concurrency: restic 0.14's init is not atomic (two inits of one path at once both "succeed" and
   * leave two master keys and a config that one of them cannot decrypt: "config or key … is
   * damaged"). So calls for the same URL in this process run one after the other, and a local
   * repository is created in a temp directory beside it and renamed into place (rename is atomic;
   * the loser of a race removes its copy and uses the winner's). A remote repository created by two
   * processes at the same instant is not protected: create it once (e.g. at startup) before
   * concurrent use.
   * Returns whether this call created it, its id and repository format version (2: compressed).
   * Errors: ToolErrors (wrong password, unreachable, not installed, locked, …).
   */
  async ensureRepository(
    opts: { chunkerParamsFrom?: ResticRepository; signal?: AbortSignal } = {},
  ): Promise<{ created: boolean; id: string; version: number }> {
    const before = ensuring.get(this.url) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => this.ensureNow(opts));
    ensuring.set(this.url, mine);
    try {
      return await mine;
    } finally {
      if (ensuring.get(this.url) === mine) ensuring.delete(this.url);
    }
  }

  private async ensureNow(opts: {
    chunkerParamsFrom?: ResticRepository;
    signal?: AbortSignal;
  }): Promise<{ created: boolean; id: string; version: number }> {
    const what = `open restic repository ${this.displayUrl}`;
    const found = await this.readConfig(opts.signal);
    if (found) return { created: false, ...found };

    const local = localPath(this.url);
    if (local) {
      const target = resolve(local);
      await mkdir(dirname(target), { recursive: true }).catch(async (err) => {
        throw await fileSystemError(err, {
          what: `create restic repository ${this.displayUrl}`,
          dir: dirname(target),
          setting: 'the repository URL',
        });
      });
      const temp = join(dirname(target), `.${basename(target)}.init-${randomUUID()}`);
      try {
        await this.init(temp, opts);
        await rename(temp, target);
        const made = await this.readConfig(opts.signal);
        if (made) return { created: true, ...made };
      } catch (err) {
        if (err instanceof ToolError) throw err;
        // ENOTEMPTY/EEXIST: another process created it first (or the directory holds other
        // files); EBUSY/EXDEV: the directory is a mount point. Use theirs, or init in place below.
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
      const theirs = await this.readConfig(opts.signal);
      if (theirs) return { created: false, ...theirs };
    }
    const init = await this.init(this.url, opts, true);
    const made = await this.readConfig(opts.signal);
    if (!made)
      throw new ToolError('failed', `cannot ${what}: restic init succeeded but the repository is not there`);
    return { created: init, ...made };
  }

  /** `cat config --json`: the id and version, or undefined when restic says there is no repository. */
  private async readConfig(
    signal: AbortSignal | undefined,
  ): Promise<{ id: string; version: number } | undefined> {
    const what = `open restic repository ${this.displayUrl}`;
    // Reads run without restic's lock (--no-lock): they work on a repository this user may not write to.
    const r = await this.exec(['--no-lock', 'cat', 'config', '--json'], { what, signal });
    if (r.exit.code === 0) return this.parseConfig(r.stdout, what);
    const failure = this.failure(r.exit, { what });
    if (failure.code === 'not_found') return undefined;
    throw failure;
  }

  /**
   * `restic init` of `url` (this repository's password, options and env). With `tolerateExisting`,
   * "config file already exists" (created meanwhile) is not an error: returns false then.
   */
  private async init(
    url: string,
    opts: { chunkerParamsFrom?: ResticRepository; signal?: AbortSignal },
    tolerateExisting = false,
  ): Promise<boolean> {
    const what = `create restic repository ${this.displayUrl}`;
    const from = opts.chunkerParamsFrom;
    const inv = from ? this.pairInvocation(from) : this.invocation();
    // Init at this URL (a temp folder next to the repository): set for the child, not read here.
    Object.assign(inv.env, { RESTIC_REPOSITORY: url });
    const r = await this.exec(
      ['init', ...(from ? ['--copy-chunker-params'] : [])],
      { what, signal: opts.signal },
      inv,
    );
    if (r.exit.code === 0) return true;
    if (tolerateExisting && /config file already exists/.test(r.exit.stderr)) return false;
    throw this.failure(r.exit, { what });
  }

  /**
   * Streams `input` into one new snapshot: `restic backup --stdin --stdin-filename <filename>
   * --tag <t>… [--host <host>] --json`, with `input` piped into restic's stdin (backpressure: the
   * input is paused while restic's pipe is full, so memory stays flat whatever the size).
   *  - `filename`: path of the file inside the snapshot (relative, `/`-separated; stored as `/<filename>`).
   *  - `tags`: tags of the snapshot (no commas). `host`: the snapshot's host name (default: this host's).
   *  - `signal`: aborting it stops restic with SIGINT before its stdin is closed, so no snapshot is
   *    saved (and restic removes its lock); the call rejects with ToolError cancelled. An abort that
   *    arrives after restic saved the snapshot does not undo it: the result is returned.
   *  - `onProgress(bytes)`: bytes restic has read so far, from its status lines.
   * An error of `input` also stops restic without a snapshot, and is rethrown (a ToolError as it is,
   * anything else wrapped as failed). When restic fails, `input` is destroyed.
   * Returns the new snapshot's full id, bytes added to the repository, bytes read, restic's duration.
   */
  async backupStream(
    input: Readable,
    opts: {
      filename: string;
      tags?: string[];
      host?: string;
      signal?: AbortSignal;
      onProgress?: (bytes: number) => void;
      /**
       * false: return the id as restic 0.14's summary prints it (8 hex digits; restic accepts it
       * wherever an id is taken) instead of listing the snapshot for its full id: one restic run
       * fewer, for callers that resolve many ids at once afterwards.
       */
      fullId?: boolean;
    },
  ): Promise<BackupStreamResult> {
    const path = snapshotPath(opts.filename);
    const tags = checkTags(opts.tags);
    if (opts.host !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(opts.host))
      throw invalid(`host name ${JSON.stringify(opts.host)} is not usable for a restic snapshot`);
    const what = `back up ${path.slice(1)} to restic repository ${this.displayUrl}`;
    throwIfAborted(opts.signal, what, this.displayUrl);
    const args = [
      'backup',
      '--stdin',
      `--stdin-filename=${path.slice(1)}`,
      ...tags.map((t) => `--tag=${t}`),
      ...(opts.host ? [`--host=${opts.host}`] : []),
      '--json',
    ];
    const p = this.start(args, 'pipe');
    const stdin = p.child.stdin!;
    // EPIPE when restic exits before reading everything (wrong password, …): its exit tells why.
    stdin.on('error', () => {});

    let stopped = false;
    let sourceError: unknown;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      // Order matters: restic gets SIGINT while its stdin is still open. Closing stdin first would
      // be an end of input, and restic would save a snapshot of the partial stream.
      input.unpipe(stdin);
      p.interrupt();
    };
    const onSourceError = (err: unknown) => {
      sourceError ??= err;
      stop();
    };
    const onEnd = () => {
      if (!stopped) stdin.end();
    };
    const onAbort = () => stop();
    input.on('error', onSourceError);
    input.once('end', onEnd);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (input.readableEnded) onEnd();
    else input.pipe(stdin, { end: false });

    const output = backupOutput(p, opts.onProgress);
    const exit = await p.done;
    const { summary } = output;
    const itemErrors = itemErrorsOf(exit, process.cwd()).messages;
    // The error listener stays: an input that fails after this must not become an uncaught error.
    input.off('end', onEnd);
    opts.signal?.removeEventListener('abort', onAbort);
    if (exit.code === 0 && summary) return this.backupResult(summary, opts.fullId, what);
    input.unpipe(stdin);
    if (!input.destroyed) input.destroy();
    if (sourceError !== undefined) {
      if (sourceError instanceof ToolError) throw sourceError;
      throw new ToolError(
        'failed',
        `cannot ${what}: reading the data failed (${(sourceError as Error)?.message ?? String(sourceError)}); restic was stopped, no snapshot was saved`,
        { hint: 'fix what produces the data and run the backup again', cause: sourceError },
      );
    }
    if (opts.signal?.aborted)
      throw new ToolError(
        'cancelled',
        `cannot ${what}: cancelled; restic was stopped, no snapshot was saved`,
      );
    if (exit.code === 0)
      throw new ToolError(
        'failed',
        `cannot ${what}: restic exited 0 without a summary line; no snapshot id`,
        {
          hint: 'check the restic version (0.14 or later is needed)',
        },
      );
    const err = this.failure(exit, { what });
    if (itemErrors.length) err.message += ` (${itemErrors.slice(-3).join('; ')})`;
    throw err;
  }

  /**
   * Backs up the directory `dir` file by file into one new snapshot: `restic backup --tag <t>…
   * [--host <host>] --json -- <basename>` run in `dir`'s parent directory, so the snapshot's tree
   * holds the directory itself at its root (`/<basename>`, with its owner, mode and times) and its
   * path is `dir` (absolute). restic's change detection applies: with an earlier snapshot of the
   * same host and path as parent, files whose size, mtime, ctime and inode are unchanged are not
   * read again, which makes a repeated backup of a large, mostly unchanged directory cheap.
   *  - `signal`: aborting stops restic with SIGINT: no snapshot is saved; ToolError cancelled.
   *  - `onProgress(bytes)`: bytes restic has processed so far.
   * restic's exit code 3 ("snapshot created, but some files could not be read"):
   *  - only files that vanished between restic's listing and its read (ENOENT: a live directory):
   *    the snapshot stands, as restic saved it; `warnings` lists what restic reported.
   *  - anything else (permission denied, a directory restic could not list, a file that changed
   *    type, any error restic gives no errno for): the snapshot lacks existing data, so it is not a
   *    backup. It is removed again (if another restic holds the repository, it cannot be, and the
   *    message and `removal` say so) and the call fails with UnreadableFilesError (a ToolError
   *    failed) listing up to 10 of the items with their reasons.
   * Returns the snapshot id (full, or restic's short id with `fullId: false`), bytes added, bytes
   * and regular files processed, how many of those restic found unchanged since the parent snapshot
   * (not read again), restic's duration, and warnings.
   * Errors: ToolError invalid_input for a relative `dir`, not_found when it does not exist;
   * ToolErrors of restic.
   */
  async backupDirectory(
    dir: string,
    opts: {
      tags?: string[];
      host?: string;
      signal?: AbortSignal;
      onProgress?: (bytes: number) => void;
      fullId?: boolean;
      /**
       * The snapshot restic compares against (`--parent`); null reads every file (`--force`);
       * default: restic picks the newest snapshot of the same host and path.
       */
      parent?: string | null;
      /** Leave an incomplete snapshot (see UnreadableFilesError) for the caller to remove. */
      keepIncomplete?: boolean;
    },
  ): Promise<BackupStreamResult & { files: number; filesUnchanged: number; warnings: string[] }> {
    if (!isAbsolute(dir) || /[\0\r\n]/.test(dir) || dirname(dir) === dir)
      throw invalid(`directory ${JSON.stringify(dir)} is not an absolute path below /`);
    const tags = checkTags(opts.tags);
    if (opts.host !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(opts.host))
      throw invalid(`host name ${JSON.stringify(opts.host)} is not usable for a restic snapshot`);
    const what = `back up directory ${dir} to restic repository ${this.displayUrl}`;
    throwIfAborted(opts.signal, what, this.displayUrl);
    // A missing working directory would surface as spawn ENOENT, which reads as "restic not installed".
    if (!(await stat(dir).catch(() => null))?.isDirectory())
      throw new ToolError('not_found', `cannot ${what}: the directory does not exist (any more)`);
    const args = [
      'backup',
      ...tags.map((t) => `--tag=${t}`),
      ...(opts.host ? [`--host=${opts.host}`] : []),
      ...(opts.parent === null
        ? ['--force']
        : opts.parent
          ? [`--parent=${checkSnapshotId(opts.parent)}`]
          : []),
      '--json',
      '--',
      basename(dir),
    ];
    const p = this.start(args, 'ignore', dirname(dir));
    const output = backupOutput(p, opts.onProgress);
    const onAbort = () => p.interrupt();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const exit = await p.done;
    opts.signal?.removeEventListener('abort', onAbort);
    const { summary } = output;
    const items = itemErrorsOf(exit, dirname(dir));
    const result = async (s: BackupSummaryJson) => ({
      ...(await this.backupResult(s, opts.fullId, what)),
      files: s.total_files_processed,
      filesUnchanged: s.files_unmodified ?? 0,
      warnings: items.messages.slice(0, 10),
    });
    if (opts.signal?.aborted && !(exit.code === 0 && summary))
      throw new ToolError(
        'cancelled',
        `cannot ${what}: cancelled; restic was stopped, no snapshot was saved`,
      );
    if (exit.code === 0 && summary) return result(summary);
    if (exit.code === 0)
      throw new ToolError(
        'failed',
        `cannot ${what}: restic exited 0 without a summary line; no snapshot id`,
        {
          hint: 'check the restic version (0.14 or later is needed)',
        },
      );
    if (exit.code === 3 && summary && items.unreadable.length === 0) return result(summary);
    if (exit.code === 3) {
      const removal = !summary
        ? 'no snapshot was saved'
        : opts.keepIncomplete
          ? `the incomplete snapshot ${summary.snapshot_id} is left for the caller to remove`
          : await this.forgetIds([summary.snapshot_id], opts.signal).then(
              () => 'the incomplete snapshot was removed',
              (err: unknown) =>
                `the incomplete snapshot ${summary.snapshot_id} could not be removed (${(err as Error).message.split(': ').slice(-1)[0]}); remove it with restic forget ${summary.snapshot_id}`,
            );
      const n = items.unreadable.length;
      throw new UnreadableFilesError(
        `cannot ${what}: restic could not read ${n === 0 ? 'some' : n}${n >= 10 ? ' or more' : ''} item(s)${n ? ` (${items.unreadable.slice(0, 3).join(', ')})` : ''}; ${removal}`,
        items.unreadable.slice(0, 10),
        removal,
        opts.keepIncomplete ? summary?.snapshot_id : undefined,
      );
    }
    // restic 0.14 looks for the parent among all snapshots and gives up on one it cannot load.
    const unloadable = [...exit.stderr.matchAll(/Error loading snapshot ([0-9a-f]+): ([^\n]*)/g)].map(
      (m) => `${m[1]} (${m[2]!.trim()})`,
    );
    if (unloadable.length && opts.parent === undefined)
      throw new DamagedSnapshotsError(
        `choose the parent snapshot to ${what}`,
        this.displayUrl,
        [],
        unloadable,
      );
    const err = this.failure(exit, { what });
    if (items.messages.length) err.message += ` (${items.messages.slice(-3).join('; ')})`;
    throw err;
  }

  private async backupResult(
    summary: BackupSummaryJson,
    fullId: boolean | undefined,
    what: string,
  ): Promise<BackupStreamResult> {
    const snapshotId = fullId === false ? summary.snapshot_id : await this.fullId(summary.snapshot_id, what);
    return {
      snapshotId,
      bytesAdded: summary.data_added,
      totalBytes: summary.total_bytes_processed,
      durationMs: Math.round(summary.total_duration * 1000),
    };
  }

  /**
   * Whether this is a local repository (a path, or `local:`) whose config file exists: true or
   * false; undefined for other backends (only restic can tell). Reads nothing but the file's metadata.
   */
  async existsLocally(): Promise<boolean | undefined> {
    const path = this.localPath();
    if (path === undefined) return undefined;
    return (await stat(join(path, 'config')).catch(() => null))?.isFile() === true;
  }

  /**
   * Snapshots of the repository, oldest first; with `tags`, only those carrying all of them.
   * With `cached` (and a listingCache), a local repository's listing comes from the cache while
   * its snapshots/ directory holds exactly the cached ids: no restic run, so neither the password
   * nor the snapshot files are checked (a backup's own restic runs check the password).
   * Errors: DamagedSnapshotsError (a ToolError failed carrying what could be listed) when restic
   * could not load some snapshot files; ToolErrors (wrong password, no repository, unreachable, …).
   */
  async snapshots(
    opts: { tags?: string[]; signal?: AbortSignal; cached?: boolean } = {},
  ): Promise<ResticSnapshot[]> {
    const tags = checkTags(opts.tags);
    const path = this.listingCache && opts.cached ? this.localPath() : undefined;
    if (!path) return this.listSnapshots(tags.length ? [`--tag=${tags.join(',')}`] : [], opts.signal);
    const withTags = (list: ResticSnapshot[]) => list.filter((x) => tags.every((t) => x.tags.includes(t)));
    // The snapshot files there now (read before restic runs, so the cache never claims more than it saw).
    const files = await this.snapshotFiles(path);
    const hit = files && (await this.cacheMatching(files));
    if (hit) return withTags(hit);
    let all: ResticSnapshot[];
    try {
      all = await this.listSnapshots([], opts.signal);
    } catch (err) {
      if (err instanceof DamagedSnapshotsError)
        throw new DamagedSnapshotsError(err.what, this.displayUrl, withTags(err.readable), err.unreadable);
      throw err;
    }
    const ids = all.map((x) => x.id).sort();
    if (files && ids.join() === files.join()) await this.writeListingCache({ ids, snapshots: all });
    return withTags(all);
  }

  /**
   * The listing from the cache alone (see snapshots' `cached`), filtered by `tags`, or null when the
   * cache does not hold exactly the repository's current snapshot files: never runs restic.
   */
  async cachedSnapshots(tags: string[]): Promise<ResticSnapshot[] | null> {
    const path = this.listingCache ? this.localPath() : undefined;
    const files = path ? await this.snapshotFiles(path) : null;
    const hit = files && (await this.cacheMatching(files));
    return hit ? hit.filter((x) => checkTags(tags).every((t) => x.tags.includes(t))) : null;
  }

  /** The snapshot file names (ids) of a local repository, sorted; null when they cannot be read. */
  private snapshotFiles(path: string): Promise<string[] | null> {
    return readdir(join(path, 'snapshots')).then(
      (names) => names.filter((n) => HEX_ID.test(n)).sort(),
      () => null,
    );
  }

  /** The cached listing when its ids are exactly `files`. */
  private async cacheMatching(files: string[]): Promise<ResticSnapshot[] | null> {
    const cached = await this.readListingCache();
    return cached && cached.ids.join() === files.join() ? cached.snapshots : null;
  }

  /**
   * Brings the listing cache up to date after this process's own changes, so the next cached
   * listing needs no restic run: `added`, snapshots it saved (restic's short or full ids, with the
   * tags, paths and host it gave them and about when), and `removed`, full ids it forgot. Written
   * only when the result is exactly the snapshot files there now (each added id matching one new
   * file, nothing else new, every removed one gone); otherwise the cache is left as it is and the
   * next cached listing runs restic. Never fails (a cache).
   */
  async recordInListingCache(
    added: Array<Omit<ResticSnapshot, 'shortId'>>,
    removed: string[] = [],
  ): Promise<void> {
    const path = this.listingCache ? this.localPath() : undefined;
    if (!path) return;
    try {
      const cached = await this.readListingCache();
      if (!cached) return;
      const files = (await readdir(join(path, 'snapshots'))).filter((n) => HEX_ID.test(n)).sort();
      const gone = new Set(removed);
      const known = new Set(cached.ids.filter((i) => !gone.has(i)));
      const fresh = files.filter((f) => !known.has(f));
      const snapshots = cached.snapshots.filter((x) => !gone.has(x.id));
      for (const a of added) {
        const match = fresh.filter((f) => f.startsWith(a.id));
        if (match.length !== 1) return;
        snapshots.push({ ...a, id: match[0]!, shortId: match[0]!.slice(0, 8) });
      }
      const ids = snapshots.map((x) => x.id).sort();
      if (ids.join() !== files.join()) return;
      snapshots.sort((x, y) => Date.parse(x.time) - Date.parse(y.time));
      await this.writeListingCache({ ids, snapshots });
    } catch {
      // A cache: the next listing runs restic.
    }
  }

  /** The directory of a local repository (plain path or `local:`), else undefined. */
  private localPath(): string | undefined {
    if (/^[a-z0-9]+:/i.test(this.url) && !this.url.startsWith('local:')) return undefined;
    return this.url.startsWith('local:') ? this.url.slice(6) : this.url;
  }

  private async readListingCache(): Promise<{ ids: string[]; snapshots: ResticSnapshot[] } | null> {
    try {
      const c = JSON.parse(await readFile(this.listingCache!, 'utf8')) as {
        url?: unknown;
        ids?: unknown;
        snapshots?: unknown;
      };
      if (c.url !== this.url || !Array.isArray(c.ids) || !Array.isArray(c.snapshots)) return null;
      return { ids: c.ids as string[], snapshots: c.snapshots as ResticSnapshot[] };
    } catch {
      return null;
    }
  }

  private async writeListingCache(c: { ids: string[]; snapshots: ResticSnapshot[] }): Promise<void> {
    const file = this.listingCache!;
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(`${file}.${process.pid}.tmp`, JSON.stringify({ url: this.url, ...c }), { mode: 0o600 });
      await rename(`${file}.${process.pid}.tmp`, file);
    } catch {
      // A cache: the next listing runs restic again.
    }
  }

  /**
   * The bytes of file `filename` of snapshot `snapshotId` (`restic dump`), as a Readable that
   * respects backpressure. restic's exit is awaited before the stream ends: a non-zero exit (no
   * such snapshot or file, wrong password, unreachable, …) makes the stream fail with that ToolError
   * instead of ending, so a consumer never mistakes a cut stream for the whole file. Destroying the
   * stream or aborting `signal` stops restic with SIGINT (it then removes its lock); the stream's
   * 'close' comes once restic has exited.
   * Errors (thrown at once): ToolError invalid_input for a malformed id or file name.
   */
  dump(snapshotId: string, filename: string, signal?: AbortSignal): Readable {
    checkSnapshotId(snapshotId);
    const path = snapshotPath(filename);
    return this.dumpPath(
      snapshotId,
      path,
      `read ${path.slice(1)} of snapshot ${snapshotId} from restic repository ${this.displayUrl}`,
      signal,
    );
  }

  /**
   * The whole tree of snapshot `snapshotId` as a tar stream (`restic dump <id> /`): entries named
   * relative to the snapshot's root (for a backupDirectory() snapshot: the directory itself and
   * its content, `_data/`, `_data/a.txt`, `_data/sub/b`), with modes, owners (uid, gid) and times
   * as restic recorded them. restic 0.14 leaves out nested sockets, FIFOs and devices; hard links
   * come out as separate copies. Same stream contract as dump(): it fails rather than
   * ends early; destroying it or aborting `signal` stops restic.
   * Errors (thrown at once): ToolError invalid_input for a malformed id.
   */
  dumpTree(snapshotId: string, signal?: AbortSignal): Readable {
    checkSnapshotId(snapshotId);
    return this.dumpPath(
      snapshotId,
      '/',
      `read snapshot ${snapshotId} from restic repository ${this.displayUrl}`,
      signal,
    );
  }

  private dumpPath(snapshotId: string, path: string, what: string, signal?: AbortSignal): Readable {
    if (signal?.aborted)
      return Readable.from(
        (async function* () {
          yield* [];
          throw new ToolError('cancelled', `cannot ${what}: cancelled before restic started`);
        })(),
      );
    let p: ResticProcess;
    try {
      p = this.start(['--no-lock', 'dump', '--', snapshotId, path], 'ignore');
    } catch (err) {
      return Readable.from(
        (async function* () {
          yield* [];
          throw err;
        })(),
      );
    }
    const failure = (exit: ResticExit) => this.failure(exit, { what, snapshot: snapshotId });
    const out = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
        done(null, chunk);
      },
      flush(done: TransformCallback) {
        p.done.then((exit) => done(exit.code === 0 ? null : failure(exit)));
      },
      destroy(err: Error | null, done: (err: Error | null) => void) {
        if (!p.ended) {
          // Stopped early (the consumer destroyed it, or the signal): SIGINT first (restic removes
          // its lock; closing its stdout would kill it by SIGPIPE and leave the lock), and drain the
          // pipe so restic is not blocked on a write.
          p.interrupt();
          p.stdout.unpipe(out);
          p.stdout.resume();
        }
        // 'close' comes after restic has exited: the repository is free for the next command. The
        // AbortError of a reader that stopped early (`break` in for await) is not re-emitted: the
        // reader has gone, and an 'error' nobody listens to would crash the process.
        p.done.then(() => done(err?.name === 'AbortError' ? null : err));
      },
    });
    p.stdout.pipe(out);
    const onAbort = () =>
      out.destroy(new ToolError('cancelled', `cannot ${what}: cancelled; restic was stopped`));
    signal?.addEventListener('abort', onAbort, { once: true });
    out.once('close', () => signal?.removeEventListener('abort', onAbort));
    return out;
  }

  /**
   * Applies a retention policy per group (`restic forget --group-by … --keep-daily N --keep-weekly
   * N [--keep-last N] [--tag …] --json`), then, when `prune` is set and snapshots were removed,
   * `restic prune` (as its own command: 0.14 mixes prune's text into forget's JSON output).
   * Returns per group the ids kept and removed (with dryRun: would be), and prune's report.
   * Errors: ToolError invalid_input for a policy that keeps nothing or a bad groupBy; ToolErrors of
   * restic (locked: forget and prune need the exclusive lock).
   */
  async forget(opts: ForgetOptions): Promise<ForgetResult> {
    const counts = { keepDaily: opts.keepDaily, keepWeekly: opts.keepWeekly, keepLast: opts.keepLast ?? 0 };
    for (const [k, v] of Object.entries(counts))
      if (!Number.isInteger(v) || v < 0) throw invalid(`${k} must be a whole number ≥ 0, not ${v}`);
    if (counts.keepDaily + counts.keepWeekly + counts.keepLast === 0)
      throw invalid('a retention policy must keep something: keepDaily, keepWeekly or keepLast above 0');
    if (!GROUP_BY.test(opts.groupBy))
      throw invalid(
        `groupBy ${JSON.stringify(opts.groupBy)} is not a comma-separated list of host, paths, tags (or "")`,
      );
    const tags = checkTags(opts.tags);
    const what = `apply the retention policy to restic repository ${this.displayUrl}`;
    const args = [
      'forget',
      '--json',
      `--group-by=${opts.groupBy}`,
      `--keep-daily=${counts.keepDaily}`,
      `--keep-weekly=${counts.keepWeekly}`,
      ...(counts.keepLast ? [`--keep-last=${counts.keepLast}`] : []),
      ...(tags.length ? [`--tag=${tags.join(',')}`] : []),
      ...(opts.dryRun ? ['--dry-run'] : []),
    ];
    const r = await this.run(args, { what, signal: opts.signal });
    // 0.14 prints nothing at all when no snapshot matched.
    const raw = r.trim() === '' ? [] : this.parse(r, forgetOutputSchema, what);
    const groups = raw.map((g) => ({
      tags: g.tags ?? [],
      host: g.host,
      paths: g.paths ?? [],
      keep: (g.keep ?? []).map((s) => s.id),
      remove: (g.remove ?? []).map((s) => s.id),
    }));
    const removed = groups.some((g) => g.remove.length > 0);
    if (!opts.prune || opts.dryRun || !removed)
      return { groups, dryRun: opts.dryRun, prune: { ran: false, report: '' } };
    return { groups, dryRun: false, prune: { ran: true, report: await this.prune(opts.signal) } };
  }

  /**
   * Removes the given snapshots (`restic forget -- <id>…`), whatever any policy says; the data only
   * they used stays until `prune()`. An empty list does nothing. Errors: ToolError invalid_input for a
   * malformed id; ToolErrors of restic (locked: forget needs the exclusive lock).
   */
  async forgetIds(ids: string[], signal?: AbortSignal): Promise<void> {
    if (ids.length === 0) return;
    ids.forEach(checkSnapshotId);
    await this.run(['forget', '--', ...ids], {
      what: `remove ${ids.length} snapshot(s) from restic repository ${this.displayUrl}`,
      signal,
    });
  }

  /** `restic prune`: deletes data no snapshot uses. Returns restic's summary lines. Errors: ToolErrors of restic. */
  async prune(signal?: AbortSignal): Promise<string> {
    const report = await this.run(['prune'], {
      what: `prune restic repository ${this.displayUrl}`,
      signal,
    });
    return report
      .split('\n')
      .filter((l) =>
        /^(to repack|this removes|to delete|total prune|remaining|unused size after prune):/.test(l),
      )
      .join('\n');
  }

  /**
   * `restic check`: the repository's structure, and with `readDataSubset` ("10%", "1/5", "500M",
   * "100%") that part of the data packs read back and verified. A repository with errors is
   * `{ ok: false, errors }` (restic's error lines, e.g. "Pack ID does not match, want …, got …",
   * "pack <id>: unexpected file size: got …, expected …"); failing to check at all (wrong password,
   * unreachable, locked, …) is a thrown ToolError. Note: without readDataSubset, a pack whose
   * content was altered in place but kept its size is not noticed.
   */
  async check(
    opts: {
      readDataSubset?: string;
      /**
       * Run without restic's exclusive lock (`--no-lock`), so backups running meanwhile are not
       * refused; data they are still writing may then be reported as unreferenced, not as damage.
       */
      noLock?: boolean;
      signal?: AbortSignal;
    } = {},
  ): Promise<CheckResult> {
    if (opts.readDataSubset !== undefined && !SUBSET.test(opts.readDataSubset))
      throw invalid(
        `readDataSubset ${JSON.stringify(opts.readDataSubset)} is not n/t, x%, or a size such as 500M`,
      );
    const what = `check restic repository ${this.displayUrl}`;
    const r = await this.exec(
      [
        ...(opts.noLock ? ['--no-lock'] : []),
        'check',
        ...(opts.readDataSubset ? [`--read-data-subset=${opts.readDataSubset}`] : []),
      ],
      { what, signal: opts.signal },
    );
    if (r.exit.code === 0) return { ok: true, errors: [] };
    if (!/repository contains errors/.test(r.exit.stderr)) throw this.failure(r.exit, { what });
    const errors = r.exit.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/^Fatal: repository contains errors/.test(l));
    return { ok: false, errors };
  }

  /**
   * Copies snapshots of this repository into `target` (`restic -r <target> copy --from-repo <this>`:
   * in 0.14 `--repo` is the destination and `--from-repo` the source; 0.10-0.13 had it the other
   * way round with `--repo2`. Both are passed in the child's environment: RESTIC_REPOSITORY and
   * RESTIC_FROM_REPOSITORY, the passwords in RESTIC_[FROM_]PASSWORD_FILE or RESTIC_[FROM_]PASSWORD,
   * which 0.14 reads as the defaults of -r, --from-repo and --from-password-file). Either
   * `snapshotIds`, or `tags` (snapshots carrying all of them), or neither (all snapshots). Snapshots
   * copied before are not copied again. Returns, for each selected snapshot, its id here and the id
   * of its copy in `target` (from the copies' `original` field).
   * Errors: ToolError invalid_input when both repositories set the same extended option or
   * environment variable differently (0.14 applies `-o` options and the environment to both sides);
   * ToolErrors of restic for either side.
   */
  async copyTo(
    target: ResticRepository,
    opts: { snapshotIds?: string[]; tags?: string[]; signal?: AbortSignal } = {},
  ): Promise<{ copied: Array<{ source: string; target: string }> }> {
    if (opts.snapshotIds?.length && opts.tags?.length)
      throw invalid('copy either snapshotIds or tags, not both (restic ignores tags when ids are given)');
    const ids = (opts.snapshotIds ?? []).map(checkSnapshotId);
    const tags = checkTags(opts.tags);
    const what = `copy snapshots from restic repository ${this.displayUrl} to ${target.displayUrl}`;
    // 0.14's copy prints text only (no JSON); which copy belongs to which source is read afterwards
    // from the `original` field of the target's snapshots.
    await target
      .exec(
        ['copy', ...(tags.length ? [`--tag=${tags.join(',')}`] : []), '--', ...ids],
        { what, signal: opts.signal },
        target.pairInvocation(this),
      )
      .then(async (r) => {
        if (r.exit.code === 0) return;
        // restic's messages do not say which side a wrong password or a missing repository is on:
        // open each on its own, so the error names the right one.
        for (const side of [this, target])
          if (!(await side.readConfig(opts.signal)))
            throw new ToolError(
              'not_found',
              `cannot ${what}: there is no restic repository at ${side.displayUrl}`,
              {
                hint: 'check the repository URL; create the target with ensureRepository first',
              },
            );
        throw target.failure(r.exit, { what });
      });
    const sources = ids.length
      ? await this.listSnapshots(['--', ...ids], opts.signal)
      : await this.snapshots({ tags, ...(opts.signal ? { signal: opts.signal } : {}) });
    const copies = new Map<string, string>();
    for (const s of await target.snapshots(opts.signal ? { signal: opts.signal } : {}))
      if (s.original) copies.set(s.original, s.id);
    const copied = sources.map((s) => {
      const t = copies.get(s.original ?? s.id);
      if (!t)
        throw new ToolError(
          'failed',
          `cannot ${what}: restic finished, but ${target.displayUrl} has no copy of snapshot ${s.shortId}`,
          { hint: 'run restic check on both repositories' },
        );
      return { source: s.id, target: t };
    });
    return { copied };
  }

  /**
   * Removes stale locks (`restic unlock`): locks of restic processes on this host that are gone, and
   * locks older than 30 minutes; the locks of running processes stay. Errors: ToolErrors of restic.
   */
  async unlock(signal?: AbortSignal): Promise<void> {
    await this.run(['unlock'], {
      what: `remove stale locks of restic repository ${this.displayUrl}`,
      signal,
    });
  }

  // ---- running restic -------------------------------------------------------------------------

  /**
   * Global arguments and environment for a run against this repository. The URL goes in
   * RESTIC_REPOSITORY (as the copy source's in RESTIC_FROM_REPOSITORY, the env form of 0.14's
   * --from-repo), never in argv: a rest: URL can carry a password, and argv is visible to every
   * user of the host.
   */
  private invocation(): { globalArgs: string[]; env: Record<string, string> } {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !INHERITED_REPO_ENV.test(k)) env[k] = v;
    Object.assign(env, this.config.env ?? {}, this.passwordEnv('RESTIC_'), { RESTIC_REPOSITORY: this.url });
    return {
      globalArgs: (this.config.options ?? []).map((o) => `--option=${o}`),
      env,
    };
  }

  /** Like invocation(), with `source` as restic's --from-repo side (copy, init --copy-chunker-params). */
  private pairInvocation(source: ResticRepository): { globalArgs: string[]; env: Record<string, string> } {
    const mine = this.invocation();
    const options = new Map<string, string>();
    for (const o of [...(this.config.options ?? []), ...(source.config.options ?? [])]) {
      const key = o.slice(0, o.indexOf('='));
      const before = options.get(key);
      if (before !== undefined && before !== o)
        throw invalid(
          `restic cannot copy between ${source.displayUrl} and ${this.displayUrl}: both set option ${key} differently, and restic 0.14 applies -o options to both repositories`,
          'use one sftp.command (or other option) that serves both, or copy through a local repository',
        );
      options.set(key, o);
    }
    for (const [k, v] of Object.entries(source.config.env ?? {})) {
      if (this.config.env?.[k] !== undefined && this.config.env[k] !== v)
        throw invalid(
          `restic cannot copy between ${source.displayUrl} and ${this.displayUrl}: both set environment variable ${k} differently (one restic process serves both)`,
        );
      mine.env[k] = v;
    }
    Object.assign(mine.env, source.passwordEnv('RESTIC_FROM_'), { RESTIC_FROM_REPOSITORY: source.url });
    return {
      globalArgs: [...options.values()].map((o) => `--option=${o}`),
      env: mine.env,
    };
  }

  /** RESTIC_PASSWORD_FILE or RESTIC_PASSWORD (with prefix RESTIC_FROM_: the copy source's). */
  private passwordEnv(prefix: 'RESTIC_' | 'RESTIC_FROM_'): Record<string, string> {
    const pw = this.config.password;
    if ('file' in pw) return { [`${prefix}PASSWORD_FILE`]: resolve(pw.file) };
    const value = process.env[pw.env];
    if (!value)
      throw new ToolError(
        'config_invalid',
        `the password of restic repository ${this.displayUrl} is to come from environment variable ${pw.env}, which is ${value === undefined ? 'not set' : 'empty'}`,
        { hint: `set ${pw.env} in doom-ops's environment to the repository's password` },
      );
    return { [`${prefix}PASSWORD`]: value };
  }

  private start(args: string[], stdin: 'pipe' | 'ignore', cwd?: string): ResticProcess {
    const inv = this.invocation();
    return startRestic(this.binary, [...inv.globalArgs, ...args], inv.env, {
      stdin,
      killAfterMs: this.killAfterMs,
      ...(cwd ? { cwd } : {}),
    });
  }

  /** Runs restic to its end, stdout buffered (at most MAX_JSON bytes). Never throws for an exit code. */
  private async exec(
    args: string[],
    ctx: { what: string; signal?: AbortSignal | undefined },
    inv = this.invocation(),
  ): Promise<{ stdout: string; exit: ResticExit }> {
    // Short commands (listing, config, forget, check, copy) share a few slots per process: each
    // restic is a Go runtime of its own, and 25 at once on a 2-core host starve everything else.
    // Streams (backup, dump) are not limited: a backup runs two at once and must never wait on itself.
    return COMMANDS.run(() => this.execNow(args, ctx, inv));
  }

  private async execNow(
    args: string[],
    ctx: { what: string; signal?: AbortSignal | undefined },
    inv: { globalArgs: string[]; env: Record<string, string> },
  ): Promise<{ stdout: string; exit: ResticExit }> {
    throwIfAborted(ctx.signal, ctx.what, this.displayUrl);
    const p = startRestic(this.binary, [...inv.globalArgs, ...args], inv.env, {
      stdin: 'ignore',
      killAfterMs: this.killAfterMs,
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let overflow = false;
    p.stdout.on('data', (chunk: Buffer) => {
      if (overflow) return;
      bytes += chunk.length;
      if (bytes > MAX_JSON) {
        overflow = true;
        chunks.length = 0;
        p.interrupt();
      } else chunks.push(chunk);
    });
    const onAbort = () => p.interrupt();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    const exit = await p.done;
    ctx.signal?.removeEventListener('abort', onAbort);
    if (overflow)
      throw new ToolError('failed', `cannot ${ctx.what}: restic's output exceeded ${MAX_JSON} bytes`, {
        hint: 'forget old snapshots, or list fewer (by tag)',
      });
    return { stdout: Buffer.concat(chunks).toString('utf8'), exit };
  }

  /** exec() that throws the mapped ToolError unless restic exits 0; returns stdout. */
  private async run(
    args: string[],
    ctx: { what: string; signal?: AbortSignal | undefined; snapshot?: string },
  ): Promise<string> {
    const r = await this.exec(args, ctx);
    if (r.exit.code !== 0) throw this.failure(r.exit, ctx);
    return r.stdout;
  }

  private failure(exit: ResticExit, ctx: { what: string; snapshot?: string }): ToolError {
    return resticFailure(exit, {
      what: ctx.what,
      repo: this.url,
      passwordSource: describePassword(this.config.password),
      binary: this.binary,
      ...(ctx.snapshot ? { snapshot: ctx.snapshot } : {}),
    });
  }

  private parse<T>(text: string, schema: z.ZodType<T>, what: string): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ToolError(
        'failed',
        `cannot ${what}: restic's --json output is not JSON (${(err as Error).message})`,
        {
          hint: 'check the restic version (0.14 or later is needed)',
        },
      );
    }
    const r = schema.safeParse(json);
    if (!r.success)
      throw new ToolError(
        'failed',
        `cannot ${what}: restic's --json output is not what doom-ops expects (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`,
        { hint: 'check the restic version (0.14 or later is needed)' },
      );
    return r.data;
  }

  private parseConfig(stdout: string, what: string): { id: string; version: number } {
    const c = this.parse(stdout, configSchema, what);
    return { id: c.id, version: c.version };
  }

  private async listSnapshots(filter: string[], signal: AbortSignal | undefined): Promise<ResticSnapshot[]> {
    const what = `list the snapshots of restic repository ${this.displayUrl}`;
    const r = await this.exec(['--no-lock', 'snapshots', '--json', ...filter], { what, signal });
    if (r.exit.code !== 0) throw this.failure(r.exit, { what });
    const list = this.parse(r.stdout, snapshotListSchema, what).map(toSnapshot);
    // restic 0.14 skips a snapshot file it cannot load or decrypt, says so on stderr, and exits 0.
    const damaged = [...r.exit.stderr.matchAll(/could not load snapshot ([0-9a-f]+): ([^\n]*)/g)].map(
      (m) => `${m[1]} (${m[2]!.trim()})`,
    );
    if (damaged.length) throw new DamagedSnapshotsError(what, this.displayUrl, list, damaged);
    return list;
  }

  /** The full id of a snapshot from the short id that restic 0.14's backup summary prints. */
  private async fullId(id: string, what: string): Promise<string> {
    if (id.length === 64) return id;
    const found = await this.listSnapshots(['--', id], undefined);
    if (found.length !== 1)
      throw new ToolError(
        'failed',
        `cannot ${what}: restic saved snapshot ${id} but listing it found ${found.length} snapshots`,
        { hint: 'list the snapshots of the repository' },
      );
    return found[0]!.id;
  }
}
