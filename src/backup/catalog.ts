import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { type Manifest, manifestSchema, type Verification, verificationSchema } from './manifest.js';

export const MANIFEST = 'MANIFEST.json';
export const VERIFICATION = 'VERIFICATION.json';
const PARTIAL = '.partial';
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface CatalogEntry {
  id: string;
  state: 'complete' | 'incomplete';
  manifest: Manifest | null;
  verification: Verification | null;
}

/**
 * Backups written before restic, read only: `<id>.partial/` was a backup being written (listed as
 * incomplete), `<id>/` with a manifest is a complete backup, restorable by doom-ops still.
 */
export class BackupCatalog {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = isAbsolute(dir) ? dir : resolve(dir);
  }

  static isId(id: string): boolean {
    return ID.test(id) && !id.endsWith(PARTIAL);
  }

  path(id: string): string {
    if (!BackupCatalog.isId(id)) throw new Error(`"${id}" is not a backup id`);
    return join(this.dir, id);
  }

  async list(): Promise<CatalogEntry[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: CatalogEntry[] = [];
    for (const name of names.sort()) {
      const full = join(this.dir, name);
      if (!(await stat(full).catch(() => null))?.isDirectory()) continue;
      if (name.endsWith(PARTIAL)) {
        out.push({
          id: name.slice(0, -PARTIAL.length),
          state: 'incomplete',
          manifest: null,
          verification: null,
        });
        continue;
      }
      const manifest = await this.manifest(name).catch(() => null);
      out.push({
        id: name,
        state: manifest ? 'complete' : 'incomplete',
        manifest,
        verification: manifest ? await this.verification(name).catch(() => null) : null,
      });
    }
    return out;
  }

  async manifest(id: string): Promise<Manifest> {
    return manifestSchema.parse(JSON.parse(await readFile(join(this.path(id), MANIFEST), 'utf8')));
  }

  async verification(id: string): Promise<Verification | null> {
    const text = await readFile(join(this.path(id), VERIFICATION), 'utf8').catch(() => null);
    return text ? verificationSchema.parse(JSON.parse(text)) : null;
  }

  async saveVerification(id: string, v: Verification): Promise<void> {
    await writeFile(join(this.path(id), VERIFICATION), `${JSON.stringify(v, null, 2)}\n`);
  }
}
