import { defineToolset } from '../toolset.js';
import { auditLog } from './audit-log.js';
import { getApproval } from './get-approval.js';
import { listRunbooks, runRunbook } from './run-runbook.js';
import { scheduleStatus } from './schedule-status.js';

export const admin = defineToolset({
  name: 'admin',
  description: 'Approvals, the audit log, scheduled jobs and the handbook runbooks',
  tools: [getApproval, auditLog, scheduleStatus, listRunbooks, runRunbook],
});
