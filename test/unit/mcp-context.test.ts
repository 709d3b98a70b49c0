import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { listedTools } from '../../src/mcp/server.js';
import { withinBudget } from '../../src/mcp/text-budget.js';
import { parseToolsets, ToolsetSelection } from '../../src/mcp/toolsets.js';
import { health } from '../../src/tools/health/index.js';
import { serviceLogs } from '../../src/tools/logs/service-logs.js';
import { registry, toolsets } from '../../src/tools/registry.js';
import { TOOLSET_NAMES } from '../../src/tools/toolset.js';

/** The context an MCP session pays before its first call (issue 19: lean by default). */
const config = (over: Partial<Config['mcp']> = {}, readOnly = false): Config => {
  const c = loadConfig({ env: { DOOM_OPS_STATE_DIR: '/tmp/doom-ops-unit' }, project: 'ctx' });
  return { ...c, readOnly, mcp: { ...c.mcp, ...over } };
};
const tokens = (c: Config) =>
  JSON.stringify({ tools: listedTools(c, registry, ToolsetSelection.fromConfig(c)) }).length / 4;

describe('tools/list budget (bytes / 4 = tokens)', () => {
  it('the default list (health, diagnosis, logs + toolset tools) is at most 3,000 tokens', () => {
    expect(config().mcp.toolsets).toEqual(['health', 'diagnosis', 'logs']);
    expect(tokens(config())).toBeLessThanOrEqual(3000);
  });

  it('every tool at once is at most 8,000 tokens', () => {
    const all = config({ toolsets: ['all'] });
    expect(listedTools(all, registry, ToolsetSelection.fromConfig(all))).toHaveLength(registry.length + 2);
    expect(tokens(all)).toBeLessThanOrEqual(8000);
  });

  it('output schemas are advertised only when asked for (they are most of the size)', () => {
    const on = config({ toolsets: ['all'], outputSchemas: true });
    const list = listedTools(on, registry, ToolsetSelection.fromConfig(on));
    expect(list.filter((t) => t.outputSchema).length).toBe(registry.length);
    expect(tokens(on)).toBeGreaterThan(2 * tokens(config({ toolsets: ['all'] })));
  });

  it.each(registry.map((t) => [t.name, t] as const))(
    '%s has a summary of one or two sentences',
    (_, tool) => {
      expect(tool.summary).toBeTypeOf('string');
      expect(tool.summary!.length).toBeLessThanOrEqual(200);
      expect(tool.summary!.split(/(?<=[.!?])\s/).length).toBeLessThanOrEqual(2);
    },
  );
});

describe('toolsets', () => {
  it('each folder toolset lists its tools; together they are the registry, each tool once', () => {
    expect(toolsets.map((t) => t.name)).toEqual([...TOOLSET_NAMES]);
    const names = toolsets.flatMap((t) => t.tools.map((tool) => tool.name));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(registry.map((t) => t.name));
  });

  it('lists in registry order, the same every time; read-only mode filters on top', () => {
    const c = config({ toolsets: ['health', 'lifecycle'] });
    const a = listedTools(c, registry, ToolsetSelection.fromConfig(c)).map((t) => t.name);
    expect(a).toEqual(listedTools(c, registry, ToolsetSelection.fromConfig(c)).map((t) => t.name));
    expect(a).toEqual([
      'stack_health',
      'recent_incidents',
      'smoke_test',
      'stack_up',
      'stack_down',
      'restart_service',
      'update_service',
      'list_toolsets',
      'enable_toolsets',
    ]);
    const ro = config({ toolsets: ['health', 'lifecycle'] }, true);
    expect(listedTools(ro, registry, ToolsetSelection.fromConfig(ro)).map((t) => t.name)).toEqual([
      ...health.tools.map((t) => t.name),
      'list_toolsets',
      'enable_toolsets',
    ]);
  });

  it('`all` expands; an unknown name is an error that names the known ones; enabling tells listeners once', () => {
    expect(parseToolsets(['all'])).toEqual([...TOOLSET_NAMES]);
    expect(() => parseToolsets(['health', 'bogus'])).toThrow(/unknown toolset "bogus"/);
    const s = new ToolsetSelection(['health']);
    let told = 0;
    s.onChange(() => told++);
    expect(s.enable(['backup', 'health'])).toEqual(['backup']);
    expect(s.enable(['backup'])).toEqual([]);
    expect(told).toBe(1);
    expect(s.names()).toEqual(['health', 'backup']);
  });
});

describe('text result budget', () => {
  it('leaves a short text alone', () => {
    expect(withinBudget('ok\nfine', 6000, serviceLogs)).toBe('ok\nfine');
  });

  it("cuts a long one at a line, within the budget, naming the tool's narrowing inputs", () => {
    const text = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n');
    const out = withinBudget(text, 6000, serviceLogs);
    expect(out.length).toBeLessThanOrEqual(6000);
    expect(out).toMatch(/^line 0 /);
    expect(out).toMatch(
      /characters left out .*narrow the call with service, replica, since, until, tail, level, grep/s,
    );
    expect(out).toMatch(/full result is in structuredContent/);
    const lines = out.split('\n');
    expect(lines.at(-2)).toMatch(/^line \d+ x{40}$/); // cut between lines, not inside one
  });

  it('never cuts a character in half (emoji are two UTF-16 units)', () => {
    const out = withinBudget('😀'.repeat(600), 1001, serviceLogs); // an odd cut point
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(out)).toBe(false); // no lone high surrogate
    expect(out).toMatch(/^(😀)+\n… cut/u);
  });

  it('a tool without narrowing inputs says to ask for less', () => {
    const noNarrow = registry.find((t) => t.name === 'list_runbooks')!;
    expect(withinBudget('y'.repeat(9000), 1000, noNarrow)).toMatch(/ask for less/);
  });
});
