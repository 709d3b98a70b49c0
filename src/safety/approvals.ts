import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isToolError, ToolError } from '../errors.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'done' | 'failed' | 'refused';

export interface Plan {
  summary: string;
  steps: string[];
  /** What could be lost or interrupted. */
  dataAtRisk: string[];
  /** Compared again at execution: a different value means the world changed (stale plan). */
  fingerprint: string;
}

export interface ApprovalRecord {
  id: string;
  tool: string;
  /** Normalized (schema-parsed) input, so approval binds to what will actually run. */
  input: Record<string, unknown>;
  project: string;
  requester: string;
  requesterSurface: string;
  plan: Plan;
  status: ApprovalStatus;
  createdAt: string;
  expiresAt: string;
  /** Principal id of the human who decided. */
  decidedBy?: string;
  /** How they decided: `Slack button`, `doom-ops approve`, … */
  decidedVia?: string;
  decidedAt?: string;
  result?: unknown;
  error?: string;
}

/**
 * Pending approvals as one JSON file each, so a human can approve from another process
 * (`doom-ops approve <id>`, Slack) than the one that asked. Writes are atomic (rename).
 */
export class ApprovalStore {
  private readonly listeners = new Set<(record: ApprovalRecord) => void>();

  constructor(private readonly dir: string) {}

  /** Called for every approval created in this process (Slack posts MCP requests to its approvals channel). */
  onCreated(listener: (record: ApprovalRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  create(
    r: Omit<ApprovalRecord, 'id' | 'status' | 'createdAt' | 'expiresAt'>,
    ttlMs: number,
  ): ApprovalRecord {
    const now = Date.now();
    const record: ApprovalRecord = {
      ...r,
      id: `apr_${randomBytes(6).toString('hex')}`,
      status: 'pending',
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlMs).toISOString(),
    };
    this.save(record);
    for (const l of this.listeners) l(record);
    return record;
  }

  get(id: string): ApprovalRecord {
    if (!/^apr_[0-9a-f]{12}$/.test(id))
      throw new ToolError('invalid_input', `"${id}" is not an approval id (apr_ + 12 hex digits)`);
    let record: ApprovalRecord;
    try {
      record = JSON.parse(readFileSync(join(this.dir, `${id}.json`), 'utf8')) as ApprovalRecord;
    } catch {
      throw new ToolError('not_found', `no approval ${id}`, {
        hint: 'list pending approvals with `doom-ops approvals`',
      });
    }
    if (record.status === 'pending' && Date.parse(record.expiresAt) < Date.now()) {
      record.status = 'expired';
      this.save(record);
    }
    return record;
  }

  list(): ApprovalRecord[] {
    let files: string[] = [];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    return files.map((f) => this.get(f.slice(0, -5))).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  save(record: ApprovalRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, `${record.id}.json`);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(record, null, 2), { mode: 0o600 });
    renameSync(tmp, path);
  }

  /**
   * Marks a pending approval decided; single use. Claimed through an exclusive rename so two
   * approvers clicking at once cannot both execute it.
   */
  decide(id: string, approver: string, approve: boolean, via?: string): ApprovalRecord {
    const record = this.get(id);
    if (record.status !== 'pending') {
      throw new ToolError(
        'conflict',
        `approval ${id} is ${record.status}, not pending: an approval is used once`,
        {
          hint: record.status === 'expired' ? 'ask the requester to make the request again' : undefined,
        },
      );
    }
    const path = join(this.dir, `${id}.json`);
    const claim = `${path}.claimed`;
    try {
      renameSync(path, claim);
    } catch {
      throw new ToolError('conflict', `approval ${id} is being decided by someone else`);
    }
    record.status = approve ? 'approved' : 'denied';
    record.decidedBy = approver;
    if (via) record.decidedVia = via;
    record.decidedAt = new Date().toISOString();
    writeFileSync(claim, JSON.stringify(record, null, 2), { mode: 0o600 });
    renameSync(claim, path);
    return record;
  }

  /**
   * Records what an approved action did, once it ran: `done` with its result, or `failed` (`refused`
   * when it was stopped as stale or busy: a conflict) with the reason a user may see.
   */
  finish(id: string, outcome: { result: unknown } | { error: unknown }): ApprovalRecord {
    const record = this.get(id);
    if ('result' in outcome) {
      record.status = 'done';
      record.result = outcome.result;
    } else {
      const err = outcome.error;
      record.status = isToolError(err) && err.code === 'conflict' ? 'refused' : 'failed';
      record.error = isToolError(err) ? err.message : 'internal error';
    }
    this.save(record);
    return record;
  }
}
