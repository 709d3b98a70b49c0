import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { repositoryPassword } from '../adapters/restic/password.js';
import { ResticRepository } from '../adapters/restic/repository.js';
import type { Config } from '../config/schema.js';
import { ToolError } from '../errors.js';

/** A configured restic repository, opened: the local one is named "local", offsite ones by their name. */
export interface OpenRepository {
  name: string;
  repo: ResticRepository;
  /** Where its password lives ("generated key file /…/restic/backup.repository.key", "environment variable X"). */
  passwordLocation: string;
  /** True when this call generated the local repository's key (the first backup says where it is). */
  keyCreated: boolean;
  offsite: boolean;
}

/** Where the local repository is: backup.repository.url, or <backup.dir>/restic. */
export function localRepositoryUrl(config: Config): string {
  return config.backup.repository.url ?? resolve(join(config.backup.dir, 'restic'));
}

/**
 * The local repository (backup.repository). Its password: backup.repository.password (an
 * environment variable or a file), or, for the default local repository only, a generated key in
 * <stateDir>/restic/backup.repository.key, created only with `create` (a backup); reading never
 * makes one. Does not create the repository (ensureRepository does, on the first backup).
 * Errors: ToolError config_invalid (no usable password); not_found when the generated key does not
 * exist and `create` is not set (nothing was backed up with it here).
 */
export async function localRepository(
  config: Config,
  opts: { create?: boolean } = {},
): Promise<OpenRepository> {
  const r = config.backup.repository;
  const generate =
    r.url === undefined ? { stateDir: resolve(config.stateDir), create: opts.create === true } : undefined;
  const pw = await repositoryPassword('backup.repository', r.password, generate);
  return {
    name: 'local',
    repo: new ResticRepository(
      { url: localRepositoryUrl(config), password: pw.password, options: r.options, env: r.env },
      {
        binary: config.backup.restic,
        // A backup's listing of a local repository, kept while its snapshots/ directory is unchanged.
        listingCache: join(
          resolve(config.stateDir),
          'restic',
          'listing',
          `${createHash('sha256')
            .update(resolve(localRepositoryUrl(config)))
            .digest('hex')
            .slice(0, 16)}.json`,
        ),
      },
    ),
    passwordLocation: pw.location,
    keyCreated: pw.created,
    offsite: false,
  };
}

/**
 * The offsite repositories (backup.offsite), each with its configured password: an offsite
 * repository without one is refused (a key that lives only on this host is lost with it).
 * Errors: ToolError config_invalid naming the repository.
 */
export async function offsiteRepositories(config: Config): Promise<OpenRepository[]> {
  const out: OpenRepository[] = [];
  for (const [i, r] of config.backup.offsite.entries()) {
    if (!r.password.env && !r.password.file)
      throw new ToolError(
        'config_invalid',
        `offsite repository ${r.name} (backup.offsite[${i}]) has no password configured`,
        {
          hint: 'set backup.offsite[].password.env or .file; an offsite repository never gets a generated key, because a key that lives only on this host is lost with it',
        },
      );
    const pw = await repositoryPassword(`backup.offsite[${i}]`, r.password);
    out.push({
      name: r.name,
      repo: new ResticRepository(
        { url: r.url, password: pw.password, options: r.options, env: r.env },
        { binary: config.backup.restic },
      ),
      passwordLocation: pw.location,
      keyCreated: false,
      offsite: true,
    });
  }
  return out;
}

/** One repository by name: "local" or an offsite repository's name. Errors: not_found naming the choices. */
export async function repositoryByName(config: Config, name: string): Promise<OpenRepository> {
  if (name === 'local') return localRepository(config);
  const found = (await offsiteRepositories(config)).find((r) => r.name === name);
  if (!found)
    throw new ToolError('not_found', `no backup repository named ${name}`, {
      hint: `use local${config.backup.offsite.map((o) => `, ${o.name}`).join('')}`,
    });
  return found;
}
