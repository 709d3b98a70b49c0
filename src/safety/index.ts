import { isAbsolute, join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { ApprovalStore } from './approvals.js';
import { type AuditStore, JsonlAuditStore } from './audit.js';
import { StackLock } from './lock.js';

export interface Safety {
  audit: AuditStore;
  lock: StackLock;
  approvals: ApprovalStore;
}

/** The local stores under config.stateDir: audit.jsonl, approvals/, locks/. */
export function createSafety(config: Config): Safety {
  const dir = isAbsolute(config.stateDir) ? config.stateDir : resolve(config.stateDir);
  return {
    audit: new JsonlAuditStore(join(dir, 'audit.jsonl')),
    lock: new StackLock(join(dir, 'locks')),
    approvals: new ApprovalStore(join(dir, 'approvals')),
  };
}
