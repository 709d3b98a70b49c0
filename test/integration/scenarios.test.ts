/**
 * The diagnosis evaluation suite (test/scenarios/, design.md §8): every scenario on the real
 * engine, a few at a time, each under its own project with the event recorder on. `npm run
 * scenarios` runs this file and prints the score table; DOOM_OPS_SCENARIOS=name,name runs some.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarios, runScenario, type ScenarioResult, scoreTable } from '../helpers/scenario-runner.js';

const scenarios = loadScenarios(process.env.DOOM_OPS_SCENARIOS);
const results: ScenarioResult[] = [];

afterAll(() => {
  const table = scoreTable(results);
  if (process.env.DOOM_OPS_SCENARIO_REPORT) writeFileSync(process.env.DOOM_OPS_SCENARIO_REPORT, `${table}\n`);
});

describe.concurrent('diagnosis scenarios on the real engine', () => {
  for (const s of scenarios) {
    it(`${s.name}: ${s.title}`, { timeout: s.timeout + 60_000 }, async () => {
      const r = await runScenario(s);
      results.push(r);
      const wrong = [...r.errors, ...r.checks.flatMap((c) => c.failures.map((f) => `[${c.name}] ${f}`))];
      // The whole account (every failed fact and the output it was looked for in), not a truncated diff.
      if (wrong.length) throw new Error(`${s.name} diagnosed wrong:\n${wrong.join('\n')}`);
      expect(r.checks.length).toBeGreaterThan(0);
    });
  }
});
