/** Plain-text table: column widths from content, long cells cut with an ellipsis. */
export function table(
  headers: string[],
  rows: Array<Array<string | number | null | undefined>>,
  maxCell = 60,
): string {
  const cells = rows.map((r) =>
    headers.map((_, i) => clip(r[i] === null || r[i] === undefined ? '-' : String(r[i]), maxCell)),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
