import { type Duplex, type Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DockerAdapter } from './client.js';
import { Demuxer } from './demux.js';

const MAX_STDERR = 65_536;

/** Passes a non-TTY exec's stdout frames on (with backpressure) and keeps the first 64 KiB of stderr. */
class StdoutOnly extends Transform {
  private readonly demux = new Demuxer();
  stderr = '';

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const f of this.demux.push(chunk)) {
      if (f.stream === 'stderr') {
        if (this.stderr.length < MAX_STDERR) this.stderr += f.data.toString('utf8').slice(0, MAX_STDERR);
      } else this.push(Buffer.from(f.data));
    }
    done();
  }
}

/**
 * Runs argv in a running container with stdout streamed into `stdout` (and `stdin`, when given,
 * streamed in and then closed): how mongodump's archive reaches disk and mongorestore gets it
 * back without ever being held in memory. Returns the exit code and the start of stderr.
 */
export async function execStream(
  adapter: DockerAdapter,
  id: string,
  argv: string[],
  options: { stdout: Writable; stdin?: Readable; signal?: AbortSignal },
): Promise<{ exitCode: number | null; stderr: string }> {
  const container = adapter.docker.getContainer(id);
  const exec = await adapter.call(`create exec in ${id.slice(0, 12)}`, options.signal, (s) =>
    container.exec({
      Cmd: argv,
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: Boolean(options.stdin),
      abortSignal: s,
    } as object),
  );
  const stream = (await adapter.call(`start exec in ${id.slice(0, 12)}`, options.signal, () =>
    exec.start({ hijack: true, stdin: Boolean(options.stdin) }),
  )) as unknown as Duplex;
  const out = new StdoutOnly();
  const onAbort = () => stream.destroy(new Error('cancelled'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const reading = pipeline(stream, out, options.stdout);
    if (options.stdin) {
      // Half-close once the input is sent: the process sees EOF, its output keeps flowing back.
      options.stdin.pipe(stream, { end: false });
      await new Promise<void>((resolve, reject) => {
        options.stdin!.once('end', resolve);
        options.stdin!.once('error', reject);
      });
      (stream as Duplex & { end: () => void }).end();
    }
    await reading;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  const info = await adapter.call(`inspect exec in ${id.slice(0, 12)}`, options.signal, (s) =>
    exec.inspect({ abortSignal: s } as object),
  );
  return { exitCode: info.ExitCode ?? null, stderr: out.stderr };
}
