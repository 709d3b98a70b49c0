import { randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { ParallelGzip } from '../../src/backup/parallel-gzip.js';
import { TarCheck } from '../../src/backup/tar-check.js';

async function collect(src: Readable, through?: Transform): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of through ? src.pipe(through) : src) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** Chunks of varying sizes, like an HTTP body, so blocks are cut mid-chunk. */
function chunked(data: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let i = 0, n = 1; i < data.length; i += n, n = (n * 7 + 13) % 50_000)
    parts.push(data.subarray(i, i + n));
  return Readable.from(parts);
}

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name }, body);
  p.finalize();
  return collect(p as unknown as Readable);
}

describe('ParallelGzip', () => {
  it('writes members in input order that gunzip back to the exact input', async () => {
    const text = Buffer.from('{"level":"info","msg":"episode complete"}\n'.repeat(40_000));
    const data = Buffer.concat([randomBytes(700_000), text, randomBytes(123)]);
    const gz = await collect(
      chunked(data),
      new ParallelGzip({ level: 6, blockBytes: 64 * 1024, concurrency: 3, selfCheck: true }),
    );
    // Several members, not one stream: each starts with the gzip magic.
    let members = 0;
    for (
      let i = gz.indexOf(Buffer.from([0x1f, 0x8b, 8]));
      i >= 0;
      i = gz.indexOf(Buffer.from([0x1f, 0x8b, 8]), i + 1)
    )
      members++;
    expect(members).toBeGreaterThan(10);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    expect(gz.length).toBeLessThan(data.length);
  });

  it('still writes valid gzip for empty input', async () => {
    const gz = await collect(Readable.from([]), new ParallelGzip({ level: 6 }));
    expect(gunzipSync(gz).length).toBe(0);
  });
});

describe('TarCheck', () => {
  it('passes a tar stream through unchanged and counts its entries', async () => {
    const tar = await tarOf({ a: Buffer.from('hello'), 'dir/b': randomBytes(300_000), c: Buffer.alloc(0) });
    const check = new TarCheck();
    const out = await collect(chunked(tar), check);
    expect(out.equals(tar)).toBe(true);
    expect(check.entries).toBe(3);
  });

  it('fails a truncated archive', async () => {
    const tar = await tarOf({ a: randomBytes(100_000) });
    await expect(collect(chunked(tar.subarray(0, 50_000)), new TarCheck())).rejects.toThrow(
      /tar stream is malformed/,
    );
  });

  it('fails bytes that are not tar', async () => {
    await expect(collect(Readable.from([randomBytes(4096)]), new TarCheck())).rejects.toThrow(/malformed/);
  });
});
