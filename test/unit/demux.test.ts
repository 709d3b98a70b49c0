import { describe, expect, it } from 'vitest';
import { Demuxer } from '../../src/adapters/docker/demux.js';

function frame(stream: number, text: string): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('Demuxer', () => {
  it('separates stdout and stderr frames', () => {
    const d = new Demuxer();
    const frames = d.push(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]));
    expect(frames.map((f) => [f.stream, f.data.toString()])).toEqual([
      ['stdout', 'out\n'],
      ['stderr', 'err\n'],
    ]);
  });

  it('keeps a frame split across chunks (even inside the header) until it is complete', () => {
    const d = new Demuxer();
    const bytes = Buffer.concat([frame(1, 'hello world\n'), frame(2, 'x')]);
    const got: string[] = [];
    for (let i = 0; i < bytes.length; i += 3)
      got.push(...d.push(bytes.subarray(i, i + 3)).map((f) => `${f.stream}:${f.data}`));
    expect(got).toEqual(['stdout:hello world\n', 'stderr:x']);
    expect(d.leftover).toBe(0);
  });

  it('reports an incomplete trailing frame', () => {
    const d = new Demuxer();
    d.push(frame(1, 'abcdef').subarray(0, 10));
    expect(d.leftover).toBe(10);
  });
});
