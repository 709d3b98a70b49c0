import type { z } from 'zod';
import type { lintComposeTool } from '../tools/checks/lint-compose.js';
import type { diagnoseOom } from '../tools/diagnosis/diagnose-oom.js';
import type { explainRestarts } from '../tools/diagnosis/explain-restarts.js';

export function renderWhy(w: z.output<typeof explainRestarts.output>): string {
  const out = [
    `${w.service}: ${w.verdict.kind.toUpperCase()}`,
    w.verdict.summary,
    '',
    'evidence:',
    ...w.verdict.evidence.map((e) => `  - ${e}`),
  ];
  const withLogs = w.deaths.filter((d) => d.logBefore.length).slice(-1);
  for (const d of withLogs)
    out.push(
      '',
      `log lines before ${d.container} died at ${d.time} (exit ${d.exitCode ?? '?'}):`,
      ...d.logBefore.map((l) => `  ${l}`),
    );
  if (w.tasks?.length)
    out.push(
      '',
      'task history (newest first; on Swarm each task is one start):',
      ...w.tasks.map(
        (t) =>
          `  ${t.at}  slot ${t.slot ?? '-'}  ${t.node ?? 'unplaced'}  ${t.state}${t.error ? `: ${t.error}` : ''}`,
      ),
    );
  out.push('', 'next steps:', ...w.verdict.nextSteps.map((s) => `  - ${s}`));
  return out.join('\n');
}

export function renderRunbook(o: {
  runbook: string;
  service: string | null;
  steps: Array<{ tool: string; ok: boolean }>;
  findings: Array<{ severity: string; title: string; explanation: string; evidence: string[] }>;
  actions: string[];
}): string {
  return [
    `runbook ${o.runbook}${o.service ? ` on ${o.service}` : ''}: ${o.steps.map((s) => `${s.tool} ${s.ok ? 'ok' : 'FAILED'}`).join(', ')}`,
    ...o.findings.flatMap((f) => [
      `[${f.severity}] ${f.title}: ${f.explanation}`,
      ...f.evidence.map((e) => `    ${e}`),
    ]),
    ...(o.actions.length ? ['actions:', ...o.actions.map((a) => `  - ${a}`)] : []),
  ].join('\n');
}

export function renderOom(o: z.output<typeof diagnoseOom.output>): string {
  return [
    o.summary,
    ...o.services.flatMap((s) => ['', `${s.service}: ${s.reasoning}`, `  set it in: ${s.whereToSet}`]),
  ].join('\n');
}

export function renderLint(o: z.output<typeof lintComposeTool.output>): string {
  return [
    o.summary,
    ...o.findings.map(
      (f) =>
        `${f.file}:${f.line ?? '?'} ${f.severity} ${f.rule} [${f.service}] ${f.message}\n    fix: ${f.fix}`,
    ),
  ].join('\n');
}
