import { ToolError } from '../errors.js';

/**
 * Turns a failed `listen()` of `doom-ops serve` into a ToolError that says which address failed,
 * why, and how to choose another (--host / --port, config http.host / http.port, the
 * DOOM_OPS_HTTP_HOST / DOOM_OPS_HTTP_PORT environment); other errors are returned unchanged.
 */
export function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as { code?: unknown })?.code;
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const pickPort =
    'pick another port with --port N (or http.port in the config, DOOM_OPS_HTTP_PORT), or --port 0 for any free one';
  switch (code) {
    case 'EADDRINUSE':
      return new ToolError('conflict', `cannot serve on ${at}: port ${port} is already in use`, {
        hint: `stop what listens there (ss -ltnp 'sport = :${port}' shows it; another doom-ops serve?), or ${pickPort}`,
        cause: err,
      });
    case 'EACCES':
    case 'EPERM':
      return new ToolError('not_allowed', `cannot serve on ${at}: permission denied to bind port ${port}`, {
        hint: `ports below 1024 need root or CAP_NET_BIND_SERVICE; ${pickPort}`,
        cause: err,
      });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ToolError('invalid_input', `cannot serve on ${at}: ${host} is not an address of this host`, {
        hint: "bind to 127.0.0.1 (default), 0.0.0.0 or one of this host's addresses with --host (or http.host in the config, DOOM_OPS_HTTP_HOST)",
        cause: err,
      });
    default:
      return err;
  }
}
