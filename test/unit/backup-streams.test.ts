import { createHash, randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { parseSumLine, sumLine, TarCheck } from '../../src/backup/tar-check.js';

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

describe('TarCheck with per-file checksums (what a restore drill checks)', () => {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('streams one sha256sum line per regular file, in archive order, after a header', async () => {
    const big = randomBytes(300_000);
    const tar = await tarOf({
      'volume/a': Buffer.from('hello'),
      'volume/dir/b': big,
      'volume/empty': Buffer.alloc(0),
    });
    const check = new TarCheck({ sums: true });
    const lines = collect(check.sums!);
    await collect(chunked(tar), check);
    const text = (await lines).toString('utf8').trim().split('\n');
    expect(text[0]).toMatch(/^# /);
    expect(text.slice(1)).toEqual([
      `${sha(Buffer.from('hello'))}  volume/a`,
      `${sha(big)}  volume/dir/b`,
      `${sha(Buffer.alloc(0))}  volume/empty`,
    ]);
    expect(check.files).toBe(3);
  });

  it('a cut archive destroys the checksum stream too (restic must not save a partial list)', async () => {
    const tar = await tarOf({ a: randomBytes(100_000) });
    const check = new TarCheck({ sums: true });
    const lines = collect(check.sums!);
    await expect(collect(chunked(tar.subarray(0, 50_000)), check)).rejects.toThrow(/malformed/);
    await expect(lines).rejects.toThrow();
  });

  it('names with a newline or a backslash round-trip as sha256sum escapes them', () => {
    for (const name of ['plain/file.txt', 'odd\nname', 'back\\slash', 'both\\and\nnewline'])
      expect(parseSumLine(sumLine('a'.repeat(64), name).trimEnd())).toEqual([name, 'a'.repeat(64)]);
    expect(parseSumLine('# header')).toBeUndefined();
  });
});
