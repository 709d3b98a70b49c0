/**
 * The MongoDB database tools as the handbook runs them inside the mongodb container (argv only,
 * never a shell): mongodump writes a gzipped archive to stdout, mongorestore reads one on stdin.
 */
export function mongodumpArgv(uri: string): string[] {
  return ['mongodump', `--uri=${uri}`, '--archive', '--gzip'];
}

export function mongorestoreArgv(uri: string): string[] {
  return ['mongorestore', `--uri=${uri}`, '--archive', '--gzip', '--drop'];
}

/** Per-collection document counts from mongodump's log ("done dumping db.coll (42 documents)"). */
export function parseDumpCounts(stderr: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of stderr.matchAll(/done dumping (\S+) \((\d+) documents?\)/g)) counts[m[1]!] = Number(m[2]);
  return counts;
}

/** "42 document(s) restored successfully. 0 document(s) failed to restore." */
export function parseRestoreCount(stderr: string): { restored: number | null; failed: number | null } {
  const m = /(\d+) document\(s\) restored successfully\. (\d+) document\(s\) failed/.exec(stderr);
  return { restored: m ? Number(m[1]) : null, failed: m ? Number(m[2]) : null };
}
