import type { Command } from 'commander';
import type { CommonOptions } from '../options.js';
import { common, runTool } from './common.js';

export function askCommand(program: Command): void {
  common(
    program
      .command('ask')
      .description(
        'answer a question from tool evidence ("why did orchestrator restart?"); uses Ollama when OLLAMA_HOST and OLLAMA_MODEL are set',
      )
      .argument('<question...>', 'the question (quotes optional)'),
  ).action(async (words: string[], opts: CommonOptions) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/diagnosis/ask.js')).askTool,
        render: (await import('../../render/ask.js')).renderAsk,
      }),
      { question: words.join(' ') },
      opts,
    );
  });
}
