import type { z } from 'zod';
import type { askTool } from '../tools/diagnosis/ask.js';

export function renderAsk(o: z.output<typeof askTool.output>): string {
  return [o.answer, ...(o.note ? ['', `note: ${o.note}`] : [])].join('\n');
}
