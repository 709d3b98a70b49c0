import type { ContainerDetail } from '../../adapters/docker/types.js';
import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { isToolError } from '../../errors.js';
import { createRedactor, type Redactor, redact, rememberSecrets } from '../../safety/redact.js';
import { mapLimit } from '../../util/concurrency.js';
import type { ToolContext } from '../context.js';
import { stackKind } from './stack-kind.js';

const INSPECT_CONCURRENCY = 16;

/** Per tool context (one tool call, with the calls it makes; one CLI command): container id -> its secret values. */
const inspected = new WeakMap<ToolContext, Map<string, Promise<string[]>>>();
/** Per tool context: every secret value collected so far (read synchronously at the output boundary). */
const known = new WeakMap<ToolContext, Set<string>>();

function remember(ctx: ToolContext, values: readonly string[]): void {
  const set = known.get(ctx) ?? new Set<string>();
  known.set(ctx, set);
  for (const v of values) set.add(v);
  // Also for writers that have no tool context (the audit log, approval requests).
  rememberSecrets(values);
}

/**
 * The password of a URI in config (backup.mongodb.uri, backup.drill.mongodbUri, mongodb.uri,
 * repository URLs), as written and percent-decoded.
 */
function configSecrets(ctx: ToolContext): string[] {
  const b = ctx.config.backup;
  const out: string[] = [];
  const repos = [...(b.repository ? [b.repository] : []), ...(b.offsite ?? [])];
  const mongo = [b.mongodb.uri, b.drill?.mongodbUri ?? '', ctx.config.mongodb?.uri ?? ''];
  for (const uri of [...mongo, ...repos.map((r) => r.url ?? '')]) {
    // The password runs to the last "@" (it may itself hold "@" or "/").
    const m = /[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:(\S+)@[^@\s]*$/i.exec(uri);
    if (!m) continue;
    out.push(m[1]!);
    try {
      out.push(decodeURIComponent(m[1]!));
    } catch {
      // not percent-encoded
    }
  }
  // restic's environment (cloud keys, rclone remotes) and passwords kept in environment variables.
  for (const r of repos) {
    out.push(...Object.values(r.env ?? {}).filter((v) => v.length >= 6));
    const pw = r.password?.env ? process.env[r.password.env] : undefined;
    if (pw) out.push(pw);
  }
  return out;
}

/**
 * Every secret value known for the project, so that one service's output never shows another's
 * secret (the orchestrator logging MongoDB's root password): the secret env values
 * (secretEnvValues) of all the project's containers, every service and one-off containers
 * included, plus the passwords of the URIs in config (configSecrets). A value that is also the name of the project,
 * a service, a container or an image is left out (it shows up as that name everywhere).
 *
 * The container list is read on every call (a call that creates containers sees their secrets);
 * each container is inspected once per tool context, and containers the caller already inspected
 * can be passed as `alreadyInspected` so they are not inspected again. A container removed
 * meanwhile is skipped. Engine errors are thrown as ToolErrors (from the adapter).
 */
export async function projectSecrets(
  ctx: ToolContext,
  alreadyInspected: readonly ContainerDetail[] = [],
): Promise<string[]> {
  const cache = inspected.get(ctx) ?? new Map<string, Promise<string[]>>();
  inspected.set(ctx, cache);
  for (const d of alreadyInspected) if (!cache.has(d.id)) cache.set(d.id, Promise.resolve(d.secretValues));
  const containers = await ctx.docker.listStack(ctx.project, ctx.signal);
  const fresh = containers.filter((c) => !cache.has(c.id));
  const reading = mapLimit(fresh, INSPECT_CONCURRENCY, (c) =>
    ctx.docker.inspect(c.id, ctx.signal).then(
      (d) => d.secretValues,
      (err: unknown) => {
        if (isToolError(err) && err.code === 'not_found') return [];
        throw err;
      },
    ),
  );
  fresh.forEach((c, i) => {
    cache.set(
      c.id,
      reading.then(
        (all) => all[i]!,
        (err: unknown) => {
          cache.delete(c.id);
          throw err;
        },
      ),
    );
  });
  // A "password" that is also the name of something in the stack (POSTGRES_PASSWORD=postgres) is
  // printed as that name everywhere; masking it would blank service names in every output.
  const names = new Set(
    [
      ctx.project,
      ...Object.keys(ctx.config.services),
      ...[...containers, ...alreadyInspected].flatMap((c) => [
        c.name,
        c.service ?? '',
        c.image,
        c.image.replace(/[:@].*$/, ''),
        c.image.replace(/[:@].*$/, '').replace(/^.*\//, ''),
      ]),
    ].map((n) => n.toLowerCase()),
  );
  const values = [
    ...new Set([
      ...(await Promise.all(containers.map((c) => cache.get(c.id)!))).flat(),
      ...alreadyInspected.flatMap((d) => d.secretValues),
      ...configSecrets(ctx),
      ...(await swarmSecrets(ctx)),
    ]),
  ].filter((v) => !names.has(v.toLowerCase()));
  remember(ctx, values);
  return values;
}

/** A fresh redactor (its own count) masking every secret of the project (see projectSecrets) and the secret patterns. */
export async function projectRedactor(
  ctx: ToolContext,
  alreadyInspected: readonly ContainerDetail[] = [],
): Promise<Redactor> {
  return createRedactor(await projectSecrets(ctx, alreadyInspected));
}

/**
 * The project secrets collected so far in this tool context, without asking the engine: empty
 * when no code in the call has called projectSecrets. For a last pass over a tool's output.
 */
export function knownProjectSecrets(ctx: ToolContext): string[] {
  return [...(known.get(ctx) ?? [])];
}

/**
 * `text` with every project secret (projectSecrets) and every secret pattern masked. For messages
 * built from command output while something already failed: when the engine cannot be asked, the
 * secrets collected so far in this tool context are used instead of failing again.
 */
export async function redactForProject(ctx: ToolContext, text: string): Promise<string> {
  const secrets = await projectSecrets(ctx).catch(() => knownProjectSecrets(ctx));
  return redact(text, secrets);
}

/**
 * On a Swarm stack, the secret env values of every service spec of the stack (its tasks'
 * containers carry no Compose labels, so listStack does not find them), asked of the manager (of
 * ctx.swarmManager on a node's context). Empty for Compose.
 */
async function swarmSecrets(ctx: ToolContext): Promise<string[]> {
  // A node's context asks the manager: the node's engine has only its own tasks' containers.
  const manager = ctx.swarmManager ?? ((await stackKind(ctx)) === 'swarm' ? ctx.docker : null);
  if (!manager) return [];
  const services = await new SwarmAdapter(manager).services(ctx.project, ctx.signal);
  return services.flatMap((s) => s.secretValues);
}
