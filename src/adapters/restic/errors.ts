import { ToolError } from '../../errors.js';
import type { ResticExit } from './process.js';

/**
 * A repository URL as shown to users: a password inside it (`rest:https://user:pw@host/`) is masked.
 * Everything else (paths, hosts, rclone remote names) is kept.
 */
export function displayUrl(url: string): string {
  // Up to the last "@": a password may itself hold "@" or "/" (restic splits at the last "@").
  return url.replace(/(\/\/[^/@:\s]*):\S*@/g, '$1:***@');
}

/** What a failed restic run was doing, for the message. */
export interface ResticFailureContext {
  /** The operation in words, completing "cannot …": "back up mongodb/main.archive", "list snapshots". */
  what: string;
  /** The repository URL (masked before it is shown). */
  repo: string;
  /** Where the password came from, for the wrong-password hint: "the file /x", "environment variable X". */
  passwordSource: string;
  /** The restic binary that was run. */
  binary: string;
  /** A snapshot id the operation named, for the not-found message. */
  snapshot?: string;
}

/** restic's lines that say nothing about a failure (progress, chatter, rclone's notice). */
const NOISE = [
  /^\s*$/,
  /^\[\d+:\d+\]/,
  /^using temporary cache in /,
  /^create exclusive lock for repository$/,
  /^(load indexes|check all packs|check snapshots, trees and blobs)$/,
  /^Is there a repository at the following location\?$/,
  /NOTICE: Config file ".*" not found - using defaults/,
  /^signal interrupt received, cleaning up$/,
  /^reading repository password from stdin$/,
  // Go stack frames restic 0.14 prints under some errors: a function, then its file and line.
  /^[\w.-]+(\/[\w.-]+)*\.(\(\*?\w+\)\.)?\w+(\.func\d+)*(\.\d+)*$/,
  /^\S+\.(go|s):\d+( \+0x[0-9a-f]+)?$/,
];

/** The informative lines of restic's stderr (at most `max`, the last ones), "Fatal: " dropped, URL passwords masked. */
export function stderrDetail(stderr: string, repo: string, max = 4): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim())
    .filter((l) => !NOISE.some((re) => re.test(l)) && l !== repo)
    // "unable to open repository at <url>: why": the URL is in the message already.
    .map((l) => displayUrl(l.replace(/^Fatal: /, '').replace(/^unable to open repository at \S+: /, '')));
  // restic repeats a failing call with backoff: each distinct line once.
  return [...new Set(lines)].slice(-max).join(' | ') || '(restic printed nothing on stderr)';
}

/**
 * Turns a failed restic run into the ToolError a user sees: what failed, why, what to do next.
 * Recognised from restic 0.14's stderr (0.14 exits 1 for almost every failure; later versions add
 * exit codes 10-12 but keep these messages):
 *  - restic not installed                     → upstream_unavailable, how to install it
 *  - "wrong password or no key found", empty  → config_invalid, where the password came from
 *  - "Is there a repository at …", no config  → not_found, how a repository gets created
 *  - "repository is already locked … by PID"  → busy, the lock holder and `restic unlock`
 *  - connection refused, sftp/rclone failures → upstream_unavailable, what to check
 *  - unknown snapshot id or path              → not_found
 *  - interrupted (the caller stopped it)      → cancelled
 *  - anything else                            → failed, with restic's last stderr lines
 */
export function resticFailure(exit: ResticExit, ctx: ResticFailureContext): ToolError {
  const repo = displayUrl(ctx.repo);
  const cannot = `cannot ${ctx.what}`;
  if (exit.spawnError) {
    const code = exit.spawnError.code;
    return new ToolError(
      'upstream_unavailable',
      code === 'ENOENT'
        ? `${cannot}: restic is not installed (${ctx.binary} not found)`
        : `${cannot}: ${ctx.binary} could not be started (${code ?? exit.spawnError.message})`,
      {
        hint: 'install restic 0.14 or later (Debian: apt-get install restic; as root, `bash scripts/ensure-backup-tools.sh` installs it) and retry',
        cause: exit.spawnError,
      },
    );
  }
  const err = exit.stderr;
  const detail = stderrDetail(err, ctx.repo);
  if (exit.interrupted)
    return new ToolError('cancelled', `${cannot}: cancelled; restic was stopped (repository ${repo})`, {
      hint: 'nothing was saved by the stopped run; run it again when wanted',
    });
  if (/wrong password or no key found/.test(err))
    return new ToolError(
      'config_invalid',
      `${cannot}: wrong password for restic repository ${repo} (no key in it opens with the password from ${ctx.passwordSource})`,
      {
        hint: `put the password the repository was created with in ${ctx.passwordSource}; a repository whose password is lost cannot be read by anyone`,
      },
    );
  if (/an empty password is not a password|Resolving password failed/.test(err))
    return new ToolError(
      'config_invalid',
      `${cannot}: restic could not use the password of repository ${repo} from ${ctx.passwordSource}: ${detail}`,
      { hint: `put the repository's password in ${ctx.passwordSource}` },
    );
  const lock = /repository is already locked (exclusively )?by (.+)/.exec(err);
  if (lock) {
    const created = /lock was created at ([^\n(]+?)\s*(\(([^)]*) ago\))?\n/.exec(err);
    const storage = /storage ID (\w+)/.exec(err);
    return new ToolError(
      'busy',
      `${cannot}: restic repository ${repo} is locked ${lock[1] ? 'exclusively ' : ''}by ${lock[2]!.trim()}` +
        `${created ? `, since ${created[1]}${created[3] ? ` (${created[3]} ago)` : ''}` : ''}` +
        `${storage ? ` (lock ${storage[1]} in locks/)` : ''}`,
      {
        hint: `wait for that restic process to finish and retry; if it no longer runs (killed), remove its stale lock with \`restic -r ${repo} unlock\` (it removes only locks of processes that are gone)`,
      },
    );
  }
  if (/unable to create lock in backend/.test(err)) {
    // The first line says why (e.g. "open …/locks/…: permission denied", "read-only file system").
    const lines = err.split('\n');
    const first =
      lines.find((l) => /^(open|mkdir|remove|rename) /.test(l)) ?? lines.find((l) => /^Save\(<lock/.test(l));
    const why = stderrDetail(first ?? err, ctx.repo, 1);
    return new ToolError(
      'failed',
      `${cannot}: restic could not write its lock into restic repository ${repo} (${why}); the repository is read-only to this user`,
      {
        hint: 'backups, prune and removing stale locks need write access to the repository (its locks/, data/, index/ and snapshots/); listing, verifying, drills and reading a backup to restore it need no lock',
      },
    );
  }
  // A local repository whose files this user may not read (restic makes them 0600/0700 for the user that ran init).
  if (/unable to open repository at [^:\s]*\/\S*: .*permission denied/i.test(err) && !/publickey/.test(err))
    return new ToolError('failed', `${cannot}: this user may not read restic repository ${repo}: ${detail}`, {
      hint: "run doom-ops as the user that owns the repository's files (restic creates them readable by their owner only)",
    });
  if (
    /unable to open repository at|unable to start the sftp session|error talking HTTP to rclone|connection refused|no route to host|network is unreachable|i\/o timeout|Could not resolve hostname|no such host|Connection (timed out|closed)|Permission denied \(publickey/i.test(
      err,
    )
  )
    return new ToolError(
      'upstream_unavailable',
      `${cannot}: cannot reach the repository's server: ${detail}`,
      {
        hint: /sftp/i.test(err)
          ? "restic runs ssh (the sftp.command option, else `ssh <user>@<host> -s sftp`) and got no SFTP session: check that the server is up and the port, user and key; run that ssh command by hand to see ssh's own error (restic 0.14 does not always pass it on)"
          : /rclone/i.test(err)
            ? 'restic runs `rclone serve restic --stdio` with the repository environment (RCLONE_CONFIG_*): check that the server is up and the remote settings, e.g. `rclone lsd <remote>:` with the same environment'
            : 'check that the server is up and reachable from this host, and the repository settings (-o options, environment); then retry',
      },
    );
  if (/Is there a repository at the following location\?/.test(err))
    return new ToolError('not_found', `${cannot}: there is no restic repository at ${repo} (${detail})`, {
      hint: 'check the repository URL; a new repository is created (restic init) by the first backup to it',
    });
  if (/no matching ID found for prefix|invalid id "/.test(err))
    return new ToolError(
      'not_found',
      `${cannot}: no snapshot ${ctx.snapshot ?? ''} in restic repository ${repo} (${detail})`.replace(
        '  ',
        ' ',
      ),
      { hint: 'list the snapshots of the repository to pick one that exists' },
    );
  if (/not found in snapshot/.test(err))
    return new ToolError('not_found', `${cannot}: ${detail}`, {
      hint: 'list the files of the snapshot (restic ls <id>) to find the right path',
    });
  if (/no space left on device|disk quota exceeded/i.test(err))
    return new ToolError('failed', `${cannot}: the disk of restic repository ${repo} is full: ${detail}`, {
      hint: 'free space where the repository lives (or prune old snapshots), then retry',
    });
  const how = exit.code !== null ? `exit ${exit.code}` : `signal ${exit.signal}`;
  return new ToolError('failed', `${cannot}: restic failed (${how}): ${detail}`, {
    hint: `run the same restic command by hand for its full output (restic -r ${repo} …)`,
  });
}
