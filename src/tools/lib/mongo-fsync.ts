import { mongoFsync, redactMongoUri } from '../../adapters/mongodb/client.js';
import { ToolError } from '../../errors.js';
import { deadline } from '../../util/deadline.js';
import type { ToolContext } from '../context.js';
import { redactForProject } from './secrets.js';

/** Longest wait for the server to finish flushing (as long as the exec'd mongosh fsync may take). */
const FSYNC_MAX_MS = 120_000;

/**
 * MongoDB's `{ fsync: 1 }` through the driver at the top-level mongodb.uri (from doom-ops' side;
 * no shell or mongosh needed in the mongodb container): every write the server holds is on disk
 * when it answers. Connecting gives up after mongodb.timeout, the flush after two minutes.
 * Returns a one-line detail, e.g. "fsync through the driver at mongodb://127.0.0.1:27017: ok
 * (1 file(s))", the URI's password masked. Throws a ToolError (config_invalid without mongodb.uri;
 * the adapter's otherwise), every project secret masked in its message.
 */
export async function fsyncThroughDriver(ctx: ToolContext): Promise<string> {
  const cfg = ctx.config.mongodb;
  if (!cfg?.uri)
    throw new ToolError(
      'config_invalid',
      'fsync through the driver needs mongodb.uri (how doom-ops reaches MongoDB), which is not set',
      {
        hint: 'set mongodb.uri in the config file or DOOM_OPS_MONGODB_URI, e.g. mongodb://127.0.0.1:27017',
      },
    );
  try {
    const r = await mongoFsync(cfg.uri, {
      timeoutMs: cfg.timeout,
      signal: deadline(ctx.signal, cfg.timeout + FSYNC_MAX_MS),
    });
    const files = r.numFiles === undefined ? '' : ` (${r.numFiles} file(s))`;
    return redactForProject(ctx, `fsync through the driver at ${redactMongoUri(cfg.uri)}: ok${files}`);
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    throw new ToolError(err.code, await redactForProject(ctx, err.message), {
      ...(err.hint ? { hint: err.hint } : {}),
    });
  }
}
