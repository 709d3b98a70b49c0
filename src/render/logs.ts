import type { z } from 'zod';
import type { serviceLogs } from '../tools/service-logs.js';

type Logs = z.output<typeof serviceLogs.output>;

export function renderLogs(l: Logs): string {
  const many = l.containers.length > 1;
  const lines = l.lines.map((x) => `${x.time ?? ''} ${many ? `${x.container} | ` : ''}${x.text}`.trimStart());
  const notes: string[] = [];
  if (l.lines.length === 0)
    notes.push(`no matching lines (${l.scannedLines} scanned in ${l.containers.join(', ')})`);
  if (l.scanLimitReached)
    notes.push('older lines were not scanned (scan limit reached): narrow the window with --since/--until');
  if (l.truncated) notes.push('output truncated to the newest lines (--tail / size cap)');
  if (l.redactions) notes.push(`${l.redactions} line(s) had secrets masked`);
  return [...lines, ...notes.map((n) => `-- ${n}`)].join('\n');
}
