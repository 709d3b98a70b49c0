import { z } from 'zod';
import { pathOwner, readContainerFile } from '../../adapters/docker/archive.js';
import { canWrite, octal, resolveUser } from '../../knowledge/permissions.js';
import { defineTool } from '../define-tool.js';
import { serviceField } from '../lib/fields.js';
import { containersOf, stackReplicas } from '../lib/stack.js';

const PASSWD_MAX = 1 << 20;

export const checkVolumePermissions = defineTool({
  name: 'check_volume_permissions',
  title: 'Check volume permissions',
  description:
    "For each volume or bind mount of a service's containers: the owner, group and mode of the mount point as the " +
    'container sees it, the user the container runs as (resolved against its /etc/passwd), and whether that user may ' +
    'write there. Read through the Engine archive API, so it works on stopped or crash-looping containers too. Used ' +
    'by the volume-permissions runbook.',
  summary:
    "Use when a service cannot write to a volume or bind mount. Returns each mount's owner and mode, the " +
    'container user and whether it may write; works on stopped containers.',
  risk: 'read',
  idempotent: true,
  input: z.object({ service: serviceField }),
  output: z.object({
    service: z.string(),
    mounts: z.array(
      z.object({
        container: z.string(),
        type: z.string(),
        volume: z.string().nullable(),
        source: z.string(),
        destination: z.string(),
        rw: z.boolean(),
        owner: z.object({ uid: z.number(), gid: z.number(), mode: z.string() }).nullable(),
        user: z.object({
          spec: z.string(),
          uid: z.number().nullable(),
          gid: z.number().nullable(),
          name: z.string().nullable(),
        }),
        writable: z.boolean().nullable(),
        reason: z.string(),
      }),
    ),
    problems: z.number(),
    readOnlyRootfs: z
      .array(z.string())
      .describe(
        'containers whose root filesystem is read-only (read_only: true): only mounts and tmpfs are writable',
      ),
  }),
  async run(ctx, input) {
    const mine = containersOf(ctx, await stackReplicas(ctx), input.service);
    const details = await ctx.docker.inspectMany(
      mine.map((c) => c.id),
      ctx.signal,
    );
    const mounts = [];
    for (const d of details) {
      const [passwd, group] = await Promise.all([
        readContainerFile(ctx.docker, d.id, '/etc/passwd', PASSWD_MAX, ctx.signal),
        readContainerFile(ctx.docker, d.id, '/etc/group', PASSWD_MAX, ctx.signal),
      ]);
      const user = resolveUser(d.user, passwd, group);
      for (const m of d.mounts) {
        const owner = await pathOwner(ctx.docker, d.id, m.destination, ctx.signal);
        const check = owner
          ? canWrite(owner, user, m.rw)
          : { writable: null, reason: `cannot read ${m.destination} in ${d.name}` };
        mounts.push({
          container: d.name,
          type: m.type,
          volume: m.name,
          source: m.source,
          destination: m.destination,
          rw: m.rw,
          owner: owner ? { uid: owner.uid, gid: owner.gid, mode: octal(owner.mode) } : null,
          user,
          writable: check.writable,
          reason: check.reason,
        });
      }
    }
    return {
      service: input.service,
      mounts,
      problems: mounts.filter((m) => m.rw && m.writable === false).length,
      readOnlyRootfs: details.filter((d) => d.readOnlyRootfs).map((d) => d.name),
    };
  },
});
