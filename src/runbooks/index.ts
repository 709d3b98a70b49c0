import { dependencyOrder } from './dependency-order.js';
import { diskUsage } from './disk-usage.js';
import { networkConnectivity } from './network-connectivity.js';
import { oomKill } from './oom-kill.js';
import { portConflict } from './port-conflict.js';
import { restartLoop } from './restart-loop.js';
import type { Runbook } from './types.js';
import { unhealthyService } from './unhealthy-service.js';
import { volumePermissions } from './volume-permissions.js';

/** The handbook's troubleshooting flows (deployment-ops.md "Troubleshooting"), in its order. */
export const runbooks: readonly Runbook[] = [
  restartLoop,
  oomKill,
  unhealthyService,
  portConflict,
  volumePermissions,
  networkConnectivity,
  dependencyOrder,
  diskUsage,
];
