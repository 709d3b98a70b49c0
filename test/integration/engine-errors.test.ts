import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const COMMANDS = [['health'], ['stats'], ['logs', 'orchestrator']];

describe('when no engine answers', () => {
  it.each(COMMANDS)(
    '%s: a missing socket fails fast, naming the socket and what to check',
    async (...cmd) => {
      const sock = `/tmp/doom-ops-no-engine-${process.pid}.sock`;
      const r = await cli([...cmd, '--json'], { DOCKER_HOST: `unix://${sock}` });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(sock);
      expect(r.stderr).toMatch(/dockerd running/);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('upstream_unavailable');
    },
  );

  it.each(COMMANDS)('%s: a refused TCP engine names DOCKER_HOST', async (...cmd) => {
    const r = await cli(cmd, { DOCKER_HOST: 'tcp://127.0.0.1:9' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/tcp:\/\/127\.0\.0\.1:9 \(from DOCKER_HOST\)/);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
  });
});

describe('when the engine hangs', () => {
  let server: Server;
  let port = 0;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    // Accepts connections and never answers: what a wedged engine or a wrong DOCKER_HOST looks like.
    server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });

  afterAll(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });

  it.each(COMMANDS)('%s: gives up at the configured timeout with a clear message', async (...cmd) => {
    const r = await cli(
      cmd,
      { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOOM_OPS_DOCKER_TIMEOUT: '1s' },
      20_000,
    );
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/did not answer .* within 1000 ms/);
    expect(r.stderr).toContain(`tcp://127.0.0.1:${port}`);
    expect(r.ms).toBeLessThan(8000);
  });
});
