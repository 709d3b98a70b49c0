import type { Command } from 'commander';
import { renderAsk } from '../../render/ask.js';
import type { askTool } from '../../tools/diagnosis/ask.js';
import { findTool } from '../../tools/registry.js';
import { type CommonOptions, runToolCommand } from '../runtime.js';
import { common } from './common.js';

export function askCommand(program: Command): void {
  common(
    program
      .command('ask')
      .description(
        'answer a question from tool evidence ("why did orchestrator restart?"); uses Ollama when OLLAMA_HOST and OLLAMA_MODEL are set',
      )
      .argument('<question...>', 'the question (quotes optional)'),
  ).action(async (words: string[], opts: CommonOptions) => {
    // Through the registry: the tool module is part of it and imports it back.
    const tool = findTool('ask') as typeof askTool;
    process.exitCode = await runToolCommand(tool, { question: words.join(' ') }, opts, renderAsk);
  });
}
