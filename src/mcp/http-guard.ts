import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface GuardOptions {
  /** Required bearer token; undefined only when running unauthenticated on loopback was asked for. */
  token: string | undefined;
  allowedHosts: string[];
  allowedOrigins: string[];
}

export type GuardVerdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host);
}

/** Host headers a browser-free client may send to us: the bound address and its loopback aliases. */
export function defaultAllowedHosts(host: string, port: number): string[] {
  const names = isLoopback(host) ? ['127.0.0.1', 'localhost', '[::1]'] : [host];
  return names.map((n) => `${n}:${port}`);
}

/**
 * DNS-rebinding and auth checks for /mcp: a foreign Host or Origin is 403 (a browser page must not
 * drive the server), a missing or wrong bearer token is 401.
 */
export function checkRequest(req: IncomingMessage, options: GuardOptions): GuardVerdict {
  const host = req.headers.host ?? '';
  if (!options.allowedHosts.includes(host.toLowerCase())) {
    return { ok: false, status: 403, message: `Host "${host}" is not allowed` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !options.allowedOrigins.includes(origin)) {
    return { ok: false, status: 403, message: `Origin "${origin}" is not allowed` };
  }
  if (options.token !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!match || !safeEqual(match[1]!.trim(), options.token)) {
      return { ok: false, status: 401, message: 'missing or invalid bearer token' };
    }
  }
  return { ok: true };
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
