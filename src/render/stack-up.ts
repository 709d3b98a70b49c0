import type { z } from 'zod';
import type { stackDown } from '../tools/lifecycle/stack-down.js';
import type { stackUp } from '../tools/lifecycle/stack-up.js';
import { renderRunbook } from './diagnosis.js';
import { renderSmoke } from './smoke.js';
import { table } from './table.js';

export function renderStackUp(o: z.output<typeof stackUp.output>): string {
  const out = [
    `${o.project}: ${o.summary}`,
    `(${o.compose}; ${o.files.join(', ')})`,
    '',
    table(
      ['SERVICE', 'READY', 'STATE', 'HEALTH'],
      o.services.map((s) => [
        s.service,
        s.ready ? 'yes' : s.failed ? 'FAILED' : 'no',
        s.state,
        s.health ?? '-',
      ]),
    ),
  ];
  for (const f of o.failures) {
    // A Swarm stack's failures are stack_health's words for the service; Compose's a runbook's findings.
    const problems = (f.findings as { problems?: unknown }).problems;
    if (Array.isArray(problems)) {
      out.push('', `${f.service}:`, ...problems.map((p) => `  - ${String(p)}`));
      continue;
    }
    out.push(
      '',
      `${f.service}: unhealthy-service runbook`,
      ...renderRunbook(f.findings as Parameters<typeof renderRunbook>[0])
        .split('\n')
        .map((l) => `  ${l}`),
    );
  }
  if (o.smoke) out.push('', renderSmoke(o.smoke as Parameters<typeof renderSmoke>[0]));
  if (o.notes.length) out.push('', 'notes:', ...o.notes.map((n) => `  - ${n}`));
  return out.join('\n');
}

export function renderStackDown(o: z.output<typeof stackDown.output>): string {
  return [
    `${o.project}: ${o.summary}`,
    ...o.steps.map((s) => `  ${s.skipped ? 'skip' : s.ok ? 'ok  ' : 'FAIL'} ${s.step}: ${s.detail}`),
    `  stopped: ${o.stopped.map((s) => s.container).join(', ') || 'nothing'}`,
  ].join('\n');
}
