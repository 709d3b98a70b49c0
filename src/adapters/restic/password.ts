import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ToolError } from '../../errors.js';

/**
 * Where restic reads a repository's password: a file (its path; restic trims surrounding white
 * space), or an environment variable of the doom-ops process (its name; the value is handed to
 * restic as RESTIC_PASSWORD in the child's environment only, never on a command line or in a log).
 */
export type ResticPassword = { file: string } | { env: string };

/** The password settings of one repository as configured (both unset: none configured). */
export interface PasswordSetting {
  /** Name of an environment variable that holds the password. */
  env?: string | undefined;
  /** Path of a file that holds the password. */
  file?: string | undefined;
}

/** A resolved password and where it lives, so a caller can tell the user. */
export interface ResolvedPassword {
  password: ResticPassword;
  source: 'env' | 'file' | 'generated';
  /** Human words for where it is: "environment variable X", "file /path", "generated key file /path". */
  location: string;
  /** True when this call generated the key (the caller tells the user to store a copy elsewhere). */
  created: boolean;
}

/** Words for where a password comes from, for messages ("the file /x", "environment variable X"). */
export function describePassword(p: ResticPassword): string {
  return 'file' in p ? `the file ${p.file}` : `environment variable ${p.env}`;
}

/**
 * Resolves the password of repository `name` ("backup.repository", "backup.offsite[0]": used in
 * messages and, for a generated key, as the key file's name).
 *  - `setting.env`: the variable must be set and non-empty in this process.
 *  - `setting.file`: the file must exist, be a regular file and not be empty.
 *  - neither: with `generate` (only for the local default repository) a random key (32 bytes,
 *    base64url) is kept in `<generate.stateDir>/restic/<name>.key`, mode 0600 in a 0700 directory;
 *    created on first use (atomically: two processes racing end up with the same key), reused after;
 *    with `generate.create: false` (reading) a missing key is ToolError not_found, never created.
 *    Without `generate` (an offsite repository), it is refused: a key that lives only on this host
 *    dies with it.
 * Errors: ToolError config_invalid naming the setting and what to do; file-system errors of the
 * state dir are thrown as they are.
 */
export async function repositoryPassword(
  name: string,
  setting: PasswordSetting | undefined,
  generate?: { stateDir: string; create?: boolean },
): Promise<ResolvedPassword> {
  if (setting?.env && setting.file)
    throw new ToolError(
      'config_invalid',
      `the password of restic repository ${name} is configured twice (environment variable ${setting.env} and file ${setting.file})`,
      { hint: 'keep one of the two' },
    );
  if (setting?.env) {
    const value = process.env[setting.env];
    if (!value)
      throw new ToolError(
        'config_invalid',
        `the password of restic repository ${name} is to come from environment variable ${setting.env}, which is ${value === undefined ? 'not set' : 'empty'}`,
        { hint: `set ${setting.env} in doom-ops's environment to the repository's password` },
      );
    return {
      password: { env: setting.env },
      source: 'env',
      location: `environment variable ${setting.env}`,
      created: false,
    };
  }
  if (setting?.file) {
    await checkKeyFile(name, setting.file, 'file');
    return {
      password: { file: setting.file },
      source: 'file',
      location: `file ${setting.file}`,
      created: false,
    };
  }
  if (!generate)
    throw new ToolError('config_invalid', `restic repository ${name} has no password configured`, {
      hint: 'set its password from an environment variable or a file; a generated key is only made for the local default repository, because a key that lives only on this host is lost with it',
    });
  if (!/^[\w.[\]-]+$/.test(name))
    throw new ToolError('invalid_input', `repository name ${JSON.stringify(name)} cannot name a key file`);
  const dir = join(generate.stateDir, 'restic');
  const file = join(dir, `${name}.key`);
  if (generate.create === false && !(await stat(file).catch(() => null)))
    throw new ToolError(
      'not_found',
      `restic repository ${name} has no key yet: ${file} does not exist, so nothing has been backed up with a generated key here`,
      {
        hint: `run a backup first (it creates the key and the repository); if backups were written here before, put the copy of the key you kept back at ${file}, or set the repository's password setting`,
      },
    );
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const created = await createOnce(file, randomBytes(32).toString('base64url'));
  await checkKeyFile(name, file, 'generated key file');
  return { password: { file }, source: 'generated', location: `generated key file ${file}`, created };
}

/** Writes `text` to `file` unless it exists (temp file + link: never a partial key in place). */
async function createOnce(file: string, text: string): Promise<boolean> {
  const temp = `${file}.${randomUUID()}.tmp`;
  await writeFile(temp, text, { flag: 'wx', mode: 0o600 });
  try {
    await link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

async function checkKeyFile(name: string, file: string, what: string): Promise<void> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new ToolError(
      'config_invalid',
      `the password ${what} ${file} of restic repository ${name} cannot be read (${err.code ?? err.message})`,
      { hint: 'point the setting at an existing file that holds the password', cause: err },
    );
  });
  if (!st.isFile())
    throw new ToolError(
      'config_invalid',
      `the password ${what} ${file} of restic repository ${name} is not a file`,
    );
  // A generated key is doom-ops's own: keep it private even if a copy tool loosened its mode.
  if (what === 'generated key file' && (st.mode & 0o077) !== 0) await chmod(file, 0o600);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ToolError(
      'config_invalid',
      `the password ${what} ${file} of restic repository ${name} cannot be read (${err.code ?? err.message})`,
      { hint: 'make it readable by the user doom-ops runs as', cause: err },
    );
  });
  if (text.trim() === '')
    throw new ToolError(
      'config_invalid',
      `the password ${what} ${file} of restic repository ${name} is empty`,
      {
        hint: 'put the repository password in it (restic trims surrounding white space)',
      },
    );
}
