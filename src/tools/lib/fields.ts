import { z } from 'zod';
import { serviceName } from '../../config/schema.js';
import { parseTimePoint } from '../../util/duration.js';

/** Input fields several tools share, so their wording and rules stay the same everywhere. */
export const serviceField = serviceName.describe('Compose service name, e.g. orchestrator');
export const replicaField = z
  .number()
  .int()
  .positive()
  .optional()
  .describe('Only this replica number (default: every replica)');

/** A point in time as users type it: a duration ago, an RFC 3339 time or unix seconds. */
export const timePoint = z
  .string()
  .max(40)
  .refine(
    (v) => parseTimePoint(v) !== undefined,
    'must be a duration ago (10m, 24h), an RFC 3339 time or unix seconds',
  );

/** Start of an engine-event window for the diagnosis tools. */
export const windowSinceField = timePoint
  .default('24h')
  .describe('Start of the event window: 24h (default), 30m, an RFC 3339 time or unix seconds');

export const hostField = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a service or host name');

export const portField = z.number().int().min(1).max(65535);
