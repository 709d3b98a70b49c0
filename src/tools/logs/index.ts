import { defineToolset } from '../toolset.js';
import { exportLogs } from './export-logs.js';
import { logReport } from './log-report.js';
import { serviceLogs } from './service-logs.js';

export const logs = defineToolset({
  name: 'logs',
  description:
    'Service logs: recent lines with filters, an error report across services, an export to a file',
  tools: [serviceLogs, logReport, exportLogs],
});
