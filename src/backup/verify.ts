import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tableRowCounts } from '../adapters/duckdb/tables.js';
import type { ToolContext } from '../tools/context.js';
import { checkMongoArchive } from './components/mongodb.js';
import { checkSnapshot } from './components/opensearch.js';
import { checkTarGz } from './components/volumes.js';
import { HashCount } from './hash-sink.js';
import type { ComponentEntry, Verification } from './manifest.js';

async function checksum(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = new HashCount();
  await pipeline(createReadStream(path), h, async (source: AsyncIterable<Buffer>) => {
    for await (const _ of source);
  });
  return { sha256: h.digest(), bytes: h.bytes };
}

async function checkOne(
  ctx: ToolContext,
  dir: string,
  e: ComponentEntry,
  trustWriteChecks: boolean,
): Promise<string> {
  if (e.component === 'opensearch') return checkSnapshot(ctx, e);
  const path = join(dir, e.file!);
  const sum = await checksum(path);
  if (sum.bytes !== e.bytes) throw new Error(`size ${sum.bytes} bytes, manifest says ${e.bytes}`);
  if (sum.sha256 !== e.sha256)
    throw new Error(
      `sha256 ${sum.sha256.slice(0, 16)}… does not match the manifest's ${e.sha256?.slice(0, 16)}…`,
    );
  if (trustWriteChecks && e.checkedWhileWriting) return `sha256 ok; ${e.checkedWhileWriting}`;
  if (e.component === 'volumes') return `sha256 ok; gzip and tar intact (${await checkTarGz(path)} entries)`;
  if (e.component === 'mongodb') return `sha256 ok; ${await checkMongoArchive(path)}`;
  const tables = await tableRowCounts(path);
  const want = e.details.tables as Record<string, number> | undefined;
  if (want && JSON.stringify(tables) !== JSON.stringify(want))
    throw new Error(
      `row counts ${JSON.stringify(tables)} differ from the manifest's ${JSON.stringify(want)}`,
    );
  return `sha256 ok; DuckDB opens, ${
    Object.entries(tables)
      .map(([t, n]) => `${t}: ${n} rows`)
      .join(', ') || 'no tables'
  }`;
}

/** Recomputes checksums and checks each file can be read as what it claims to be. */
export async function verifyEntries(
  ctx: ToolContext,
  dir: string,
  entries: ComponentEntry[],
  /** Set by the backup that just wrote the entries: content checks done while streaming are not repeated. */
  trustWriteChecks = false,
): Promise<Verification> {
  const checks = [];
  for (const e of entries) {
    try {
      checks.push({
        target: e.target,
        component: e.component,
        ok: true,
        detail: await checkOne(ctx, dir, e, trustWriteChecks),
      });
    } catch (err) {
      checks.push({ target: e.target, component: e.component, ok: false, detail: (err as Error).message });
    }
  }
  return { verifiedAt: new Date().toISOString(), ok: checks.every((c) => c.ok), checks };
}
