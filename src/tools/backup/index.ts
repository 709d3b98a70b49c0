import { defineToolset } from '../toolset.js';
import { backupTool } from './backup.js';
import { drillBackup } from './drill-backup.js';
import { listBackups } from './list-backups.js';
import { pruneBackups } from './prune-backups.js';
import { restoreTool } from './restore.js';
import { verifyBackup } from './verify-backup.js';

export const backup = defineToolset({
  name: 'backup',
  description: 'restic backups: take, list, verify, drill, restore and prune them',
  tools: [backupTool, listBackups, verifyBackup, restoreTool, pruneBackups, drillBackup],
});
