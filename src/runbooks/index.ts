import { oomKill } from './oom-kill.js';
import { restartLoop } from './restart-loop.js';
import type { Runbook } from './types.js';
import { unhealthyService } from './unhealthy-service.js';

/** The handbook's troubleshooting flows; port conflict, volume permissions, connectivity, dependency order and disk usage come next. */
export const runbooks: readonly Runbook[] = [restartLoop, oomKill, unhealthyService];
