import { defineToolset } from '../toolset.js';
import { checkConnectivity } from './check-connectivity.js';
import { checkDependencies } from './check-dependencies.js';
import { checkPorts } from './check-ports.js';
import { checkVolumePermissions } from './check-volume-permissions.js';
import { diskUsage } from './disk-usage.js';
import { lintComposeTool } from './lint-compose.js';

export const checks = defineToolset({
  name: 'checks',
  description:
    "The handbook's troubleshooting checks: ports, volume permissions, connectivity, dependencies, disk, Compose lint",
  tools: [
    checkPorts,
    checkVolumePermissions,
    checkConnectivity,
    checkDependencies,
    diskUsage,
    lintComposeTool,
  ],
});
