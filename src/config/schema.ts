import { z } from 'zod';
import { parseDurationMs } from '../util/duration.js';

/** "30s", "2m" or a number of milliseconds, as milliseconds. */
export const durationMs = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use e.g. 500ms, 30s, 10m, 2h)` });
    return z.NEVER;
  }
  return ms;
});

/** Compose normalises project names to this alphabet; we accept only names it would keep. */
export const projectName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]*$/,
    'must be lowercase letters, digits, "-" or "_" (as Compose names projects)',
  );

export const serviceName = z
  .string()
  .max(63)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a Compose service name: letters, digits, ".", "_" or "-"');

const deepCheck = z
  .object({
    http: z.url().optional().describe('GET this URL; 2xx is healthy'),
    exec: z.array(z.string()).min(1).optional().describe('argv run inside the container; exit 0 is healthy'),
    timeout: durationMs.default(5000),
  })
  .strict()
  .refine((c) => Boolean(c.http) !== Boolean(c.exec), { message: 'give exactly one of http or exec' });

const expectedService = z
  .object({
    critical: z.boolean().default(true),
    startPeriod: durationMs.default(30_000),
    /** No container at all is fine (e.g. a service scaled to zero on purpose). */
    optional: z.boolean().default(false),
    deepCheck: deepCheck.optional(),
  })
  .strict();

export const configSchema = z
  .object({
    project: projectName.default('clau-doom'),
    docker: z
      .object({ timeout: durationMs.default(10_000) })
      .strict()
      .default({ timeout: 10_000 }),
    services: z.record(serviceName, expectedService).default({}),
    logs: z
      .object({
        defaultTail: z.number().int().positive().default(100),
        maxTail: z.number().int().positive().default(5000),
        scanLines: z.number().int().positive().default(20_000),
        maxBytes: z.number().int().positive().default(262_144),
      })
      .strict()
      .default({ defaultTail: 100, maxTail: 5000, scanLines: 20_000, maxBytes: 262_144 }),
    readOnly: z.boolean().default(false),
    http: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(7801),
        /** Extra Host header values (host:port) accepted on /mcp, e.g. behind a reverse proxy. */
        allowedHosts: z.array(z.string()).default([]),
        /** Browser Origins allowed on /mcp; none by default (DNS-rebinding protection). */
        allowedOrigins: z.array(z.string()).default([]),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 7801, allowedHosts: [], allowedOrigins: [] }),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ExpectedService = z.output<typeof expectedService>;
export type DeepCheck = z.output<typeof deepCheck>;
