import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { annotationsFor } from '../../src/mcp/annotations.js';
import { TABLE_END, TABLE_START, toolTable } from '../../src/mcp/catalog.js';
import { jsonSchemas } from '../../src/mcp/schemas.js';
import { registry } from '../../src/tools/registry.js';

/** Repo-wide contract over every tool (as github-mcp-server does for its toolsets). */
describe.each(registry.map((t) => [t.name, t] as const))('tool %s', (name, tool) => {
  it('has a snake_case name', () => {
    expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('sets every annotation explicitly, consistent with its risk', () => {
    const a = annotationsFor(tool);
    for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
      expect(typeof a[key], key).toBe('boolean');
    }
    expect(a.readOnlyHint).toBe(tool.risk === 'read');
    expect(a.destructiveHint).toBe(tool.risk === 'destructive' || tool.mayDestroy === true);
    // A tool that can be destructive says how it decides.
    if (tool.mayDestroy) expect(tool.effectiveRisk).toBeTypeOf('function');
    if (tool.risk === 'read') expect(a.idempotentHint).toBe(true);
    expect(a.title).toBeUndefined(); // the tool's own title is not repeated in tools/list
  });

  it('has a flat input object whose fields all have descriptions', () => {
    const input = jsonSchemas(tool).input as {
      type: string;
      properties: Record<string, { type?: string; description?: string }>;
    };
    expect(input.type).toBe('object');
    for (const [field, schema] of Object.entries(input.properties)) {
      expect(schema.description, `${name}.${field} description`).toBeTruthy();
      expect(schema.type, `${name}.${field} must not be a nested object`).not.toBe('object');
    }
  });

  it('describes itself for a model at some length', () => {
    expect(tool.description.length).toBeGreaterThan(80);
    expect(tool.title.length).toBeGreaterThan(3);
  });

  it('keeps its JSON Schemas stable (update the snapshot only on purpose)', () => {
    expect(jsonSchemas(tool)).toMatchSnapshot();
  });
});

describe('registry', () => {
  it('has unique names', () => {
    const names = registry.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('README tool table is the generated one (run `npm run docs:tools` after changing tools)', () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END) + TABLE_END.length);
    expect(block).toBe(toolTable(registry));
  });
});
