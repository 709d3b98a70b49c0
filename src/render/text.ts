import { renderAsk } from './ask.js';
import {
  renderBackup,
  renderBackups,
  renderDrill,
  renderPrune,
  renderRestore,
  renderVerify,
} from './backups.js';
import { renderLint, renderOom, renderRunbook, renderWhy } from './diagnosis.js';
import { renderHealth } from './health.js';
import { renderExportLogs, renderLogReport } from './log-report.js';
import { renderLogs } from './logs.js';
import { renderAudit, renderRestart, renderScale, renderUpdate } from './mutations.js';
import { renderSmoke } from './smoke.js';
import { renderStackDown, renderStackUp } from './stack-up.js';
import { renderStats } from './stats.js';
import {
  renderApproval,
  renderConnectivity,
  renderDependencies,
  renderDiskUsage,
  renderListRunbooks,
  renderPorts,
  renderVolumePermissions,
} from './troubleshoot.js';
import { renderIncidents, renderSchedule } from './watch.js';

// biome-ignore lint/suspicious/noExplicitAny: each renderer takes its own tool's output
const RENDERERS: Record<string, (out: any) => string> = {
  stack_health: renderHealth,
  smoke_test: renderSmoke,
  stack_up: renderStackUp,
  stack_down: renderStackDown,
  service_stats: renderStats,
  service_logs: renderLogs,
  log_report: renderLogReport,
  export_logs: renderExportLogs,
  explain_restarts: renderWhy,
  diagnose_oom: renderOom,
  lint_compose: renderLint,
  run_runbook: renderRunbook,
  scale_service: renderScale,
  scale_agents: renderScale,
  restart_service: renderRestart,
  update_service: renderUpdate,
  audit_log: renderAudit,
  ask: renderAsk,
  backup: renderBackup,
  list_backups: renderBackups,
  verify_backup: renderVerify,
  restore: renderRestore,
  prune_backups: renderPrune,
  drill_backup: renderDrill,
  schedule_status: renderSchedule,
  recent_incidents: renderIncidents,
  list_runbooks: renderListRunbooks,
  check_ports: renderPorts,
  check_volume_permissions: renderVolumePermissions,
  check_connectivity: renderConnectivity,
  check_dependencies: renderDependencies,
  disk_usage: renderDiskUsage,
  get_approval: (o) => renderApproval(o, renderText),
};

/**
 * The human text for a tool's structured output: the CLI prints it, MCP sends it as the text
 * content beside structuredContent, Slack posts it. Every tool of the registry has a renderer (a
 * contract test checks it); only a name outside the registry falls back to indented JSON.
 */
export function renderText(tool: string, output: unknown): string {
  const render = RENDERERS[tool];
  return render ? render(output) : JSON.stringify(output, null, 2);
}

export function hasRenderer(tool: string): boolean {
  return tool in RENDERERS;
}
