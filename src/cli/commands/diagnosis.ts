import type { Command } from 'commander';
import { type CommonOptions, num } from '../options.js';
import { common, runTool } from './common.js';

export function whyCommand(program: Command): void {
  common(
    program
      .command('why')
      .description('why did a service restart or die? verdict with evidence from inspect, events and logs')
      .argument('<service>', 'Compose service name')
      .option('--since <when>', 'event window start: 24h (default), 30m, RFC 3339'),
  ).action(async (service: string, opts: CommonOptions & { since?: string }) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/diagnosis/explain-restarts.js')).explainRestarts,
        render: (await import('../../render/diagnosis.js')).renderWhy,
      }),
      { service, since: opts.since },
      opts,
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
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/diagnosis/diagnose-oom.js')).diagnoseOom,
        render: (await import('../../render/diagnosis.js')).renderOom,
      }),
      { service, since: opts.since },
      opts,
    );
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
      )
      .option(
        '--target <target>',
        'compose, or swarm: also what docker stack deploy ignores and placements no node can meet',
        'compose',
      ),
  ).action(async (files: string[], opts: CommonOptions & { target: string }) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/checks/lint-compose.js')).lintComposeTool,
        render: (await import('../../render/diagnosis.js')).renderLint,
      }),
      { files: files.length ? files : undefined, target: opts.target },
      opts,
      (o) => (o.findings.some((f) => f.severity === 'error') ? 1 : 0),
    );
  });
}

export function runbookCommands(program: Command): void {
  common(program.command('runbooks').description('the troubleshooting runbooks')).action(
    async (opts: CommonOptions) => {
      process.exitCode = await runTool(
        async () => ({
          tool: (await import('../../tools/admin/run-runbook.js')).listRunbooks,
          render: (o) => o.runbooks.map((r) => `${r.id.padEnd(20)} ${r.title}: ${r.description}`).join('\n'),
        }),
        {},
        opts,
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
      process.exitCode = await runTool(
        async () => ({
          tool: (await import('../../tools/admin/run-runbook.js')).runRunbook,
          render: (await import('../../render/diagnosis.js')).renderRunbook,
        }),
        { id, service, target: opts.target, port: opts.port },
        opts,
      );
    },
  );
}
