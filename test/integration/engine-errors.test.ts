import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
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

describe('when DOCKER_HOST points at an HTTP server that is not Docker (issue 17.7)', () => {
  const servers: HttpServer[] = [];
  const ports: Record<'404' | '200', number> = { '404': 0, '200': 0 };

  beforeAll(async () => {
    // Plain web servers on 127.0.0.1: one answers 404 with an HTML page (the example), the
    // other 200 with HTML, which before read as a stack whose containers are all "missing".
    for (const status of [404, 200] as const) {
      const server = createHttpServer((_req, res) => {
        res.writeHead(status, { 'content-type': 'text/html' });
        res.end(
          status === 404 ? '<html><body>Not Found</body></html>' : '<html><body>It works!</body></html>',
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      ports[status] = (server.address() as { port: number }).port;
    }
  });

  afterAll(() => {
    for (const s of servers) s.close();
  });

  const cases: Array<[string, '404' | '200', string]> = COMMANDS.flatMap((cmd) => [
    [cmd.join(' '), '404', 'HTTP 404 (<html><body>Not Found'],
    [cmd.join(' '), '200', 'HTTP 200 (<html><body>It works!'],
  ]);

  it.each(cases)(
    '%s, a web server answering %s with HTML: says it answered but is not a Docker Engine API, naming it',
    async (cmd, status, answer) => {
      const host = `tcp://127.0.0.1:${ports[status]}`;
      const r = await cli([...cmd.split(' '), '--json'], { DOCKER_HOST: host });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(
        `doom-ops: ${host} (from DOCKER_HOST) answered, but it is not a Docker Engine API`,
      );
      expect(r.stderr).toContain(`GET /version gave ${answer}`);
      expect(r.stderr).toMatch(/next: point DOCKER_HOST at dockerd's API/);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('upstream_unavailable');
    },
  );
});
