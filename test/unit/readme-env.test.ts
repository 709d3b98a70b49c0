import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README's environment list is what doom-ops reads, no more and no less: a documented variable
// that nothing reads (DOOM_OPS_DOCKER_HOST was one) is a setting that silently does nothing.

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : files(path, ext);
    return ext.test(name) ? [path] : [];
  });
}

/** Names read as `env.NAME` / `env['NAME']` (TypeScript) or `${NAME` / `$NAME` (shell). */
function namesRead(paths: string[]): Set<string> {
  const out = new Set<string>();
  for (const path of paths) {
    const text = readFileSync(path, 'utf8');
    for (const m of text.matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]*)/g)) out.add(m[1]!);
    if (path.endsWith('.sh')) for (const m of text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)) out.add(m[1]!);
  }
  return out;
}

const readme = readFileSync('README.md', 'utf8');
// dockerode reads these itself, as the docker CLI does (src/adapters/docker/client.ts says so).
const READ_BY_DOCKERODE = ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'];
const readByDoomOps = new Set([...namesRead(files('src', /\.ts$/)), ...READ_BY_DOCKERODE]);

describe('README environment variables', () => {
  it('the Configuration section lists exactly the variables doom-ops reads', () => {
    const start = readme.indexOf('\nEnvironment (');
    expect(start).toBeGreaterThan(0);
    const paragraph = readme.slice(start, readme.indexOf('\n\n', start + 1));
    const listed = new Set([...paragraph.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`/g)].map((m) => m[1]!));
    // `A`/`B` pairs are written as one code span each; collect both sides.
    for (const m of paragraph.matchAll(/`([A-Z][A-Z0-9_]+)`\s*\/\s*`([A-Z][A-Z0-9_]+)`/g)) {
      listed.add(m[1]!);
      listed.add(m[2]!);
    }
    expect([...listed].filter((n) => !readByDoomOps.has(n)).sort(), 'listed but never read').toEqual([]);
    expect([...readByDoomOps].filter((n) => !listed.has(n)).sort(), 'read but not listed').toEqual([]);
  });

  it('every DOOM_OPS_* variable the README names anywhere is read by doom-ops or its own scripts', () => {
    const readers = new Set([
      ...readByDoomOps,
      ...namesRead([
        ...files('scripts', /\.(ts|sh)$/),
        ...files('docker', /\.sh$/),
        ...files('test', /\.(ts|sh)$/),
        ...files('bench', /\.ts$/),
      ]),
    ]);
    const named = new Set([...readme.matchAll(/\bDOOM_OPS_[A-Z0-9_]+/g)].map((m) => m[0]));
    expect([...named].filter((n) => !readers.has(n)).sort()).toEqual([]);
  });
});
