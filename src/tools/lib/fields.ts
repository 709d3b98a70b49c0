import { z } from 'zod';
import { serviceName } from '../../config/schema.js';

/** Input fields several tools share, so their wording and rules stay the same everywhere. */
export const serviceField = serviceName.describe('Compose service name, e.g. orchestrator');
export const replicaField = z
  .number()
  .int()
  .positive()
  .optional()
  .describe('Only this replica number (default: every replica)');
