import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { registry } from '../../src/tools/registry.js';

/**
 * The CLI gives the registry (ctx.tools) only to tools marked `callsTools`; any other tool gets
 * none. So a tool whose code reaches other tools through ctx.tools or toolNamed, directly or
 * through a helper of its file or of a module it imports, must carry the flag, or it would fail in
 * the CLI only. Read from the source: each top-level declaration that uses them, or a name that
 * does, taints; a tool (`defineTool({ name: … })`) is composite when its declaration is tainted.
 */
const SRC = resolve('src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface ModuleFacts {
  /** Names declared or imported in the module that reach ctx.tools / toolNamed. */
  tainted: Set<string>;
  /** Tools defined in the module: name -> whether the definition reaches other tools. */
  tools: Map<string, boolean>;
}

const facts = new Map<string, ModuleFacts>();

function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const f = resolve(dirname(from), spec).replace(/\.js$/, '.ts');
  return existsSync(f) ? f : undefined;
}

/** Does this node use ctx.tools / toolNamed(…) itself, or mention a tainted name? */
function reaches(node: ts.Node, tainted: Set<string>, lazyTainted: (spec: string) => boolean): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (
      ts.isPropertyAccessExpression(n) &&
      n.name.text === 'tools' &&
      /(^|\.)(ctx|context)$/i.test(n.expression.getText())
    )
      found = true;
    else if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'toolNamed')
      found = true;
    else if (ts.isIdentifier(n) && tainted.has(n.text)) found = true;
    else if (
      ts.isCallExpression(n) &&
      n.expression.kind === ts.SyntaxKind.ImportKeyword &&
      n.arguments[0] &&
      ts.isStringLiteral(n.arguments[0]) &&
      lazyTainted(n.arguments[0].text)
    )
      found = true;
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

function analyze(file: string, active = new Set<string>()): ModuleFacts {
  const known = facts.get(file);
  if (known) return known;
  const empty: ModuleFacts = { tainted: new Set(), tools: new Map() };
  if (active.has(file)) return empty; // a cycle: the layers test reports those
  active.add(file);
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const tainted = new Set<string>();
  const moduleTainted = (spec: string) => {
    const dep = resolveImport(file, spec);
    return dep !== undefined && analyze(dep, active).tainted.size > 0;
  };

  // Imports (not type-only): a name imported from a module where it is tainted is tainted here.
  for (const st of source.statements) {
    if (!ts.isImportDeclaration(st) || st.importClause?.isTypeOnly) continue;
    const dep = resolveImport(file, (st.moduleSpecifier as ts.StringLiteral).text);
    if (!dep) continue;
    const theirs = analyze(dep, active).tainted;
    const bindings = st.importClause?.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings) && theirs.size > 0) tainted.add(bindings.name.text);
    if (bindings && ts.isNamedImports(bindings))
      for (const el of bindings.elements)
        if (!el.isTypeOnly && theirs.has((el.propertyName ?? el.name).text)) tainted.add(el.name.text);
  }

  // Top-level declarations, to a fixed point (a helper using a helper that uses ctx.tools).
  const declared = source.statements.flatMap((st) => {
    if (ts.isFunctionDeclaration(st) && st.name) return [{ names: [st.name.text], node: st as ts.Node }];
    if (ts.isClassDeclaration(st) && st.name) return [{ names: [st.name.text], node: st as ts.Node }];
    if (ts.isVariableStatement(st))
      return [
        {
          names: st.declarationList.declarations.flatMap((d) =>
            ts.isIdentifier(d.name) ? [d.name.text] : [],
          ),
          node: st as ts.Node,
        },
      ];
    return [];
  });
  for (let changed = true; changed; ) {
    changed = false;
    for (const d of declared)
      if (!d.names.every((n) => tainted.has(n)) && reaches(d.node, tainted, moduleTainted)) {
        for (const n of d.names) tainted.add(n);
        changed = true;
      }
  }
  // Re-exports pass taint through.
  for (const st of source.statements)
    if (ts.isExportDeclaration(st) && st.moduleSpecifier && !st.isTypeOnly) {
      const dep = resolveImport(file, (st.moduleSpecifier as ts.StringLiteral).text);
      if (!dep) continue;
      const theirs = analyze(dep, active).tainted;
      if (st.exportClause && ts.isNamedExports(st.exportClause))
        for (const el of st.exportClause.elements)
          if (theirs.has((el.propertyName ?? el.name).text)) tainted.add(el.name.text);
      if (!st.exportClause) for (const n of theirs) tainted.add(n);
    }

  // Tool definitions: `const x = defineTool({ name: '…', … })`.
  const tools = new Map<string, boolean>();
  for (const st of source.statements) {
    if (!ts.isVariableStatement(st)) continue;
    for (const d of st.declarationList.declarations) {
      const init = d.initializer;
      if (!init || !ts.isCallExpression(init) || init.expression.getText() !== 'defineTool') continue;
      const def = init.arguments[0];
      if (!def || !ts.isObjectLiteralExpression(def)) continue;
      const nameProp = def.properties.find(
        (p): p is ts.PropertyAssignment =>
          ts.isPropertyAssignment(p) && p.name.getText() === 'name' && ts.isStringLiteral(p.initializer),
      );
      if (nameProp)
        tools.set(
          (nameProp.initializer as ts.StringLiteral).text,
          ts.isIdentifier(d.name) && tainted.has(d.name.text),
        );
    }
  }
  const out = { tainted, tools };
  facts.set(file, out);
  active.delete(file);
  return out;
}

const defined = new Map<string, { file: string; composite: boolean }>();
for (const f of files(join(SRC, 'tools')))
  for (const [name, composite] of analyze(f).tools) defined.set(name, { file: relative(SRC, f), composite });

describe('composite tools (callsTools)', () => {
  it('finds the definition of every tool of the registry in the source', () => {
    expect(registry.map((t) => t.name).filter((n) => !defined.has(n))).toEqual([]);
  });

  it('sees the known composite tools (the check itself works)', () => {
    for (const name of ['ask', 'run_runbook', 'stack_up'])
      expect(defined.get(name)?.composite, name).toBe(true);
    for (const name of ['stack_health', 'list_runbooks', 'service_logs'])
      expect(defined.get(name)?.composite, name).toBe(false);
  });

  it('marks callsTools exactly on the tools whose code reaches ctx.tools or toolNamed', () => {
    const wrong = registry
      .filter((t) => Boolean(t.callsTools) !== defined.get(t.name)?.composite)
      .map(
        (t) =>
          `${t.name} (${defined.get(t.name)?.file}): ${
            t.callsTools
              ? 'marked callsTools but calls no other tool (the CLI would load every tool for it)'
              : 'calls other tools through ctx.tools/toolNamed: add `callsTools: true` (the CLI gives it no registry otherwise)'
          }`,
      );
    expect(wrong).toEqual([]);
  });
});
