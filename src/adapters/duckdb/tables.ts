/** Opens a DuckDB file read-only and counts the rows of every table: proof the copy is usable. */
export async function tableRowCounts(file: string): Promise<Record<string, number>> {
  // Loaded on first use: the native module weighs on every CLI process that never opens a play log.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const tables = await conn.runAndReadAll(
      'select schema_name, table_name from duckdb_tables() where not internal order by 1, 2',
    );
    const counts: Record<string, number> = {};
    for (const [schema, table] of tables.getRows() as Array<[string, string]>) {
      const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
      const r = await conn.runAndReadAll(`select count(*) from ${q(schema)}.${q(table)}`);
      const name = schema === 'main' ? table : `${schema}.${table}`;
      counts[name] = Number((r.getRows()[0] as [bigint])[0]);
    }
    return counts;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
