import type { Command } from 'commander';
import { renderLint, renderOom } from '../../render/diagnosis.js';
import { renderText } from '../../render/text.js';
import { listRunbooks, runRunbook } from '../../tools/admin/run-runbook.js';
import { lintComposeTool } from '../../tools/checks/lint-compose.js';
import { diagnoseOom } from '../../tools/diagnosis/diagnose-oom.js';
import { explainRestarts } from '../../tools/diagnosis/explain-restarts.js';
import { type CommonOptions, num, runToolCommand } from '../runtime.js';
import { common } from './common.js';

export function whyCommand(program: Command): void {
  common(
    program
      .command('why')
      .description('why did a service restart or die? verdict with evidence from inspect, events and logs')
      .argument('<service>', 'Compose service name')
      .option('--since <when>', 'event window start: 24h (default), 30m, RFC 3339'),
  ).action(async (service: string, opts: CommonOptions & { since?: string }) => {
    process.exitCode = await runToolCommand(explainRestarts, { service, since: opts.since }, opts, (o) =>
      renderText('explain_restarts', o),
    );
  });
}

export function oomCommand(program: Command): void {
  common(
    program
      .command('oom')
      .description(
        'OOM kills across the stack or one service: limit vs peak, suggested new limit and where to set it',
      )
      .argument('[service]', 'only this service')
      .option('--since <when>', 'window start: 24h (default), 30m, RFC 3339'),
  ).action(async (service: string | undefined, opts: CommonOptions & { since?: string }) => {
    process.exitCode = await runToolCommand(diagnoseOom, { service, since: opts.since }, opts, renderOom);
  });
}

export function lintCommand(program: Command): void {
  common(
    program
      .command('lint')
      .description("the handbook's Compose anti-patterns in the stack's files (exit 1 when there are errors)")
      .argument(
        '[files...]',
        'Compose files under compose.dir, in merge order (default: config compose.files)',
      ),
  ).action(async (files: string[], opts: CommonOptions) => {
    process.exitCode = await runToolCommand(
      lintComposeTool,
      { files: files.length ? files : undefined },
      opts,
      renderLint,
      (o) => (o.findings.some((f) => f.severity === 'error') ? 1 : 0),
    );
  });
}

export function runbookCommands(program: Command): void {
  common(program.command('runbooks').description('the troubleshooting runbooks')).action(
    async (opts: CommonOptions) => {
      process.exitCode = await runToolCommand(listRunbooks, {}, opts, (o) =>
        o.runbooks.map((r) => `${r.id.padEnd(20)} ${r.title}: ${r.description}`).join('\n'),
      );
    },
  );
  common(
    program
      .command('runbook')
      .description('run a troubleshooting runbook: findings with evidence and recommended actions')
      .argument('<id>', 'runbook id (doom-ops runbooks)')
      .argument('[service]', 'the service to investigate')
      .option('--target <name>', 'network-connectivity: the service or host to reach')
      .option('--port <port>', 'network-connectivity: TCP port of the target', (v) => num(v)),
  ).action(
    async (
      id: string,
      service: string | undefined,
      opts: CommonOptions & { target?: string; port?: number },
    ) => {
      process.exitCode = await runToolCommand(
        runRunbook,
        { id, service, target: opts.target, port: opts.port },
        opts,
        (o) => renderText('run_runbook', o),
      );
    },
  );
}
