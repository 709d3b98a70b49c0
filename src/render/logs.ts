import type { z } from 'zod';
import type { serviceLogs } from '../tools/logs/service-logs.js';

type Logs = z.output<typeof serviceLogs.output>;

export function renderLogs(l: Logs): string {
  const many = l.containers.length > 1;
  const lines = l.lines.map((x) => `${x.time ?? ''} ${many ? `${x.container} | ` : ''}${x.text}`.trimStart());
  const notes: string[] = [];
  for (const reason of new Set(l.unavailable.map((u) => u.reason)))
    notes.push(
      `logs unavailable: ${reason} (${l.unavailable
        .filter((u) => u.reason === reason)
        .map((u) => u.container)
        .join(', ')}); to read logs through Docker use the json-file or local driver with rotation`,
    );
  const readable = l.containers.filter((c) => !l.unavailable.some((u) => u.container === c));
  if (l.lines.length === 0 && l.cutBySize > 0)
    notes.push(
      `${l.cutBySize} matching line(s) cut at the size cap of ${l.maxBytes} byte(s): the newest line alone is larger; raise --max-bytes (or logs.maxBytes)`,
    );
  else if (l.lines.length === 0 && readable.length)
    notes.push(`no matching lines (${l.scannedLines} scanned in ${readable.join(', ')})`);
  else if (l.cutBySize > 0)
    notes.push(
      `${l.cutBySize} older matching line(s) cut at the size cap of ${l.maxBytes} byte(s): raise --max-bytes (or logs.maxBytes) to see them`,
    );
  if (l.scanLimitReached)
    notes.push('older lines were not scanned (scan limit reached): narrow the window with --since/--until');
  if (l.truncated && l.cutBySize === 0) notes.push('output truncated to the newest lines (--tail)');
  if (l.redactions) notes.push(`${l.redactions} line(s) had secrets masked`);
  return [...lines, ...notes.map((n) => `-- ${n}`)].join('\n');
}
