import type { Command } from 'commander';
import { type CommonOptions, num } from '../options.js';
import { common, runTool } from './common.js';

export function statsCommand(program: Command): void {
  common(
    program
      .command('stats')
      .description(
        'CPU, memory (used / limit), network and block IO, PIDs per running container; top consumers',
      )
      .argument('[service]', 'only this service')
      .option('--sort <by>', 'order top consumers by memory or cpu', 'memory')
      .option('--top <n>', 'how many top consumers to name', '5')
      .option('--no-cpu', 'skip CPU % (one engine sample: about 1 s instead of 2)'),
  ).action(
    async (
      service: string | undefined,
      opts: CommonOptions & { sort: string; top: string; cpu: boolean },
    ) => {
      process.exitCode = await runTool(
        async () => ({
          tool: (await import('../../tools/diagnosis/service-stats.js')).serviceStats,
          render: (await import('../../render/stats.js')).renderStats,
        }),
        { service, sortBy: opts.sort, top: num(opts.top), cpu: opts.cpu },
        opts,
      );
    },
  );
}
