import { askTool } from './ask.js';
import { auditLog } from './audit-log.js';
import { backupTool } from './backup.js';
import { checkConnectivity } from './check-connectivity.js';
import { checkDependencies } from './check-dependencies.js';
import { checkPorts } from './check-ports.js';
import { checkVolumePermissions } from './check-volume-permissions.js';
import type { AnyTool } from './define-tool.js';
import { diagnoseOom } from './diagnose-oom.js';
import { diskUsage } from './disk-usage.js';
import { drillBackup } from './drill-backup.js';
import { explainRestarts } from './explain-restarts.js';
import { exportLogs } from './export-logs.js';
import { getApproval } from './get-approval.js';
import { lintComposeTool } from './lint-compose.js';
import { listBackups } from './list-backups.js';
import { logReport } from './log-report.js';
import { pruneBackups } from './prune-backups.js';
import { recentIncidents } from './recent-incidents.js';
import { restartService } from './restart-service.js';
import { restoreTool } from './restore.js';
import { listRunbooks, runRunbook } from './run-runbook.js';
import { scaleAgents } from './scale-agents.js';
import { scaleService } from './scale-service.js';
import { scheduleStatus } from './schedule-status.js';
import { serviceLogs } from './service-logs.js';
import { serviceStats } from './service-stats.js';
import { smokeTest } from './smoke-test.js';
import { stackDown } from './stack-down.js';
import { stackHealth } from './stack-health.js';
import { stackUp } from './stack-up.js';
import { updateService } from './update-service.js';
import { verifyBackup } from './verify-backup.js';

/** Every tool, in the order surfaces list them. Adding a tool here serves it on MCP, Slack and the CLI. */
export const registry: readonly AnyTool[] = [
  stackHealth,
  recentIncidents,
  smokeTest,
  stackUp,
  stackDown,
  serviceStats,
  serviceLogs,
  logReport,
  exportLogs,
  explainRestarts,
  diagnoseOom,
  checkPorts,
  checkVolumePermissions,
  checkConnectivity,
  checkDependencies,
  diskUsage,
  lintComposeTool,
  listRunbooks,
  runRunbook,
  scaleService,
  scaleAgents,
  restartService,
  updateService,
  backupTool,
  listBackups,
  verifyBackup,
  restoreTool,
  pruneBackups,
  drillBackup,
  scheduleStatus,
  getApproval,
  auditLog,
  askTool,
];

export function findTool(name: string): AnyTool | undefined {
  return registry.find((t) => t.name === name);
}
