import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';
import type { RunReporter } from '../schedule/scheduler.js';
import { escapeMrkdwn, MAX_BLOCKS, toolMessage } from './blocks.js';

const ICON = { succeeded: ':white_check_mark:', failed: ':x:', skipped: ':fast_forward:' } as const;

/**
 * Scheduled job results in Slack: one message per run with its result and reason, and for jobs
 * whose steps read (the digest) each step's output as /doom would show it.
 */
export function scheduleReporter(client: WebClient, channel: string, logger: Logger): RunReporter {
  return async (run, job, outputs) => {
    const head = `${ICON[run.result]} scheduled *${escapeMrkdwn(job.name)}* ${run.result}${run.reason ? `: ${escapeMrkdwn(run.reason)}` : ''}`;
    const steps = run.steps.map((s) => `${s.ok ? '•' : ':x:'} \`${s.tool}\` ${escapeMrkdwn(s.summary)}`);
    const blocks: KnownBlock[] = [
      { type: 'section', text: { type: 'mrkdwn', text: [head, ...steps].join('\n').slice(0, 2900) } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `slot ${run.slot} · ran by ${run.by} · ${job.cron} (${job.steps.length} step(s))`,
          },
        ],
      },
    ];
    for (const o of outputs) {
      const m = toolMessage(o.tool, o.output);
      if (blocks.length + 1 + m.blocks.length > MAX_BLOCKS) break;
      blocks.push({ type: 'divider' }, ...m.blocks);
    }
    const text = `scheduled ${escapeMrkdwn(job.name)} ${run.result}${run.reason ? `: ${escapeMrkdwn(run.reason)}` : ''}`;
    await client.chat.postMessage({ channel, text, blocks });
    logger.info({ job: job.name, result: run.result }, 'scheduled run reported to Slack');
  };
}
