import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of README "Architecture", checked on the source: which directory may import which,
 * and no import cycle among runtime imports (`import type` is erased and does not count).
 */
const SRC = resolve('src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gm;

/** Each source file's relative imports; `lazy` = type-only or a dynamic import() (no load-order hazard). */
const graph = new Map<string, { to: string; lazy: boolean }[]>();
for (const f of files(SRC)) {
  const text = readFileSync(f, 'utf8');
  const edges: { to: string; lazy: boolean }[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2] ?? m[3]!;
    edges.push({
      to: resolve(dirname(f), spec).replace(/\.js$/, '.ts'),
      lazy: Boolean(m[1]) || Boolean(m[3]),
    });
  }
  graph.set(f, edges);
}
const area = (f: string) => relative(SRC, f).split('/')[0]!;
const rel = (f: string) => relative(SRC, f);

describe('layers', () => {
  it('tools never import a surface (MCP, CLI, Slack, the watcher, the scheduler)', () => {
    // watch/ and schedule/ also hold the incident and job stores the read tools show: those are data.
    const surface = (f: string) =>
      ['mcp', 'cli', 'slack'].includes(area(f)) ||
      ['watch/watcher.ts', 'schedule/scheduler.ts', 'schedule/run-job.ts'].includes(rel(f));
    const bad = [...graph].flatMap(([f, edges]) =>
      area(f) === 'tools' ? edges.filter((e) => surface(e.to)).map((e) => `${rel(f)} -> ${rel(e.to)}`) : [],
    );
    expect(bad).toEqual([]);
  });

  it('only surfaces import the registry; tools reach other tools through their context', () => {
    const registry = join(SRC, 'tools/registry.ts');
    const importers = [...graph]
      .filter(([, edges]) => edges.some((e) => e.to === registry))
      .map(([f]) => area(f));
    expect([...new Set(importers)].sort()).toEqual(['cli', 'mcp', 'schedule', 'slack', 'watch']);
  });

  it('adapters, config and safety import nothing from tools, surfaces or render', () => {
    const upper = ['tools', 'mcp', 'cli', 'slack', 'watch', 'schedule', 'render', 'runbooks', 'ask'];
    const bad = [...graph].flatMap(([f, edges]) =>
      ['adapters', 'config', 'safety'].includes(area(f))
        ? edges.filter((e) => upper.includes(area(e.to))).map((e) => `${rel(f)} -> ${rel(e.to)}`)
        : [],
    );
    expect(bad).toEqual([]);
  });

  it('no import cycle among static runtime imports', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'active' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'active');
      stack.push(f);
      for (const e of graph.get(f) ?? []) {
        if (e.lazy || !graph.has(e.to)) continue;
        const s = state.get(e.to);
        if (s === 'active') cycles.push([...stack.slice(stack.indexOf(e.to)), e.to].map(rel).join(' -> '));
        else if (!s) visit(e.to);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
