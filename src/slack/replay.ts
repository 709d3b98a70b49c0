import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { defaultBodyLimit, HTTPModuleFunctions, isRawBodyError, verifySlackRequest } from '@slack/bolt';
import type { Logger } from '../logger.js';

/** Slack's window: a signed request more than this far from our clock, either way, is refused. */
export const MAX_SKEW_SECONDS = 5 * 60;
const SWEEP_EVERY_MS = 10_000;

/**
 * The signatures of the signed requests accepted in the last MAX_SKEW_SECONDS, so each is
 * processed once. An entry lives until its request's timestamp falls out of the window (after that
 * the timestamp check refuses the request anyway), so memory is bounded by the requests of five
 * minutes; only requests whose signature verified are stored, so nobody without the signing secret
 * can fill it. `now` returns milliseconds since the epoch (injectable for tests).
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * True the first time `signature` is offered; false for a repeat while its timestamp
   * (`timestampSec`, the signed x-slack-request-timestamp in seconds) is still inside the window.
   */
  firstTime(signature: string, timestampSec: number): boolean {
    const now = this.now();
    if (now >= this.nextSweep) {
      for (const [sig, until] of this.seen) if (until <= now) this.seen.delete(sig);
      this.nextSweep = now + SWEEP_EVERY_MS;
    }
    const until = this.seen.get(signature);
    if (until !== undefined && until > now) return false;
    // Bolt accepts while floor(now / 1000) - 300 <= timestamp, i.e. until (timestamp + 301) s.
    this.seen.set(signature, (timestampSec + MAX_SKEW_SECONDS + 1) * 1000);
    return true;
  }

  /** Entries held now (expired ones are dropped at the next call after a sweep interval). */
  get size(): number {
    return this.seen.size;
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Wraps Bolt's HTTP request listener (/slack/events: slash commands, interactivity such as button
 * clicks, and events all arrive there) so that, before Bolt sees a request:
 * - its signature is verified with `signingSecret` (Bolt's own verifySlackRequest) and its timestamp
 *   must be within 5 minutes of our clock in EITHER direction (Bolt alone refuses only old ones):
 *   401 otherwise;
 * - the same signed request (same signature, i.e. same timestamp and body) is processed only once:
 *   a repeat gets 409 and a plain-text reason, with no side effects (200 when it carries Slack's
 *   x-slack-retry-num header, so Slack stops retrying a delivery it already made).
 * The body is read once (up to Bolt's body limit: 413 beyond it) and handed to Bolt buffered.
 */
export function onceVerified(
  listener: RequestListener,
  signingSecret: string,
  logger: Logger,
  cache: ReplayCache = new ReplayCache(),
): RequestListener {
  const guard = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: string;
    try {
      body = (await HTTPModuleFunctions.bufferIncomingMessage(req, defaultBodyLimit)).rawBody.toString();
    } catch (err) {
      const tooLarge = isRawBodyError(err) && (err.type === 'entity.too.large' || err.statusCode === 413);
      return plain(
        res,
        tooLarge ? 413 : 400,
        `doom-ops: could not read the request body: ${(err as Error).message}`,
      );
    }
    // Slack's unsigned SSL check: Bolt answers it and drops anything else in the body.
    if (
      header(req, 'content-type') === 'application/x-www-form-urlencoded' &&
      parseQuery(body).ssl_check === '1'
    )
      return listener(req, res);
    const signature = header(req, 'x-slack-signature') ?? '';
    const timestamp = Number(header(req, 'x-slack-request-timestamp'));
    try {
      verifySlackRequest({
        signingSecret,
        body,
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
      });
      if (timestamp > Math.floor(Date.now() / 1000) + MAX_SKEW_SECONDS)
        throw new Error(
          `x-slack-request-timestamp is more than ${MAX_SKEW_SECONDS / 60} minutes in the future (check this host's clock)`,
        );
    } catch (err) {
      logger.warn({ reason: (err as Error).message }, 'refused a Slack request');
      return plain(res, 401, `doom-ops: Slack request refused: ${(err as Error).message}`);
    }
    if (!cache.firstTime(signature, timestamp)) {
      const retry = header(req, 'x-slack-retry-num');
      logger.warn(
        { timestamp, retry },
        'ignored a replayed Slack request (same signature as one already processed)',
      );
      return plain(
        res,
        retry === undefined ? 409 : 200,
        'doom-ops: this signed Slack request was already received and is processed only once; ' +
          'this copy was ignored. Send the command or click again from Slack.',
      );
    }
    return listener(req, res);
  };
  return (req, res) => {
    guard(req, res).catch((err: unknown) => {
      logger.error({ err }, 'Slack request guard failed');
      if (!res.headersSent) plain(res, 500, 'doom-ops: internal error while checking the Slack request');
    });
  };
}
