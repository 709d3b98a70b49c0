import type { z } from 'zod';
import type { smokeTest } from '../tools/health/smoke-test.js';
import { table } from './table.js';

export function renderSmoke(o: z.output<typeof smokeTest.output>): string {
  return [
    o.summary,
    '',
    table(
      ['PROBE', 'RESULT', 'LATENCY', 'TARGET', 'DETAIL'],
      o.probes.map((p) => [p.name, p.ok ? 'pass' : 'FAIL', `${p.latencyMs} ms`, p.target, p.detail]),
    ),
  ].join('\n');
}
