import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { redact } from './redact.js';

export interface AuditEntry {
  time: string;
  /** requested | approval_requested | approved | denied | refused | started | succeeded | failed */
  event: string;
  principal: string;
  surface: string;
  /** Where the request came from within the surface (a Slack channel ID). */
  channel?: string;
  tool: string;
  input?: unknown;
  plan?: unknown;
  approver?: string;
  approvalId?: string;
  outcome?: string;
  durationMs?: number;
  project?: string;
}

/** Where audit entries go; a shared store can replace the local file when replicas run. */
export interface AuditStore {
  append(entry: Omit<AuditEntry, 'time'>): void;
  query(filter?: {
    tool?: string;
    principal?: string;
    sinceMs?: number;
    limit?: number;
  }): Promise<AuditEntry[]>;
}

/**
 * Append-only JSON lines, one write + fsync per entry (an entry that was acknowledged survives a
 * crash). Inputs and plans are redacted before they are written.
 */
export class JsonlAuditStore implements AuditStore {
  constructor(readonly path: string) {}

  append(entry: Omit<AuditEntry, 'time'>): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const line = `${redact(JSON.stringify({ time: new Date().toISOString(), ...entry }))}\n`;
    const fd = openSync(this.path, 'a', 0o600);
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  async query(
    filter: { tool?: string; principal?: string; sinceMs?: number; limit?: number } = {},
  ): Promise<AuditEntry[]> {
    const limit = filter.limit ?? 100;
    const out: AuditEntry[] = [];
    let stream: ReturnType<typeof createReadStream>;
    try {
      stream = createReadStream(this.path, { encoding: 'utf8' });
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
      });
    } catch {
      return [];
    }
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as AuditEntry;
      if (filter.tool && e.tool !== filter.tool) continue;
      if (filter.principal && e.principal !== filter.principal) continue;
      if (filter.sinceMs && Date.parse(e.time) < filter.sinceMs) continue;
      out.push(e);
      if (out.length > limit) out.shift();
    }
    return out;
  }
}
