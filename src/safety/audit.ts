import {
  closeSync,
  createReadStream,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { errnoCode, fileSystemErrorSync, systemFileError } from '../util/fs-errors.js';
import { redactValue, rememberedSecrets } from './redact.js';

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
  /** The principal id of the human who approved or denied. */
  approver?: string;
  /** How the approval was given (elicitation and the client's self-declared name, terminal prompt, --yes, Slack button, approval id). */
  via?: string;
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
  }): Promise<AuditQuery>;
}

export interface AuditQuery {
  entries: AuditEntry[];
  /** Lines that could not be read (cut by a crash, or written damaged by an older version): skipped, counted. */
  damaged: number;
}

/**
 * Append-only JSON lines, one write + fsync per entry (an entry that was acknowledged survives a
 * crash). Inputs and plans are redacted before they are written: secret patterns, and every secret
 * value of the project this process has learnt (rememberSecrets). An entry is whole or absent: a
 * write that fails part way (a full disk) is cut back off, and an entry after a line left without
 * its newline (a crash mid-write) starts on a line of its own, so one damaged line never swallows
 * the next entry. A failed write throws a ToolError naming the directory (and its free space).
 */
export class JsonlAuditStore implements AuditStore {
  constructor(readonly path: string) {}

  append(entry: Omit<AuditEntry, 'time'>): void {
    // Redact the values, then serialise: the line is always valid JSON whatever the input holds.
    // Every secret value this process learnt (any service's) is masked too, not only the patterns.
    const line = `${JSON.stringify(redactValue({ time: new Date().toISOString(), ...entry }, rememberedSecrets()))}\n`;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const fd = openSync(this.path, 'a+', 0o600);
      try {
        const size = fstatSync(fd).size;
        const last = Buffer.alloc(1);
        const cut = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
        const bytes = Buffer.from(cut ? `\n${line}` : line);
        try {
          for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
          fsyncSync(fd);
        } catch (err) {
          try {
            ftruncateSync(fd, size);
          } catch {
            // the entry may stay partial; readers skip and count it
          }
          throw err;
        }
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      const code = errnoCode(err);
      // A full disk: name the directory and its free space. Anything else (a state dir that is a
      // file, no permission): name the path that failed and that it is the state directory.
      if (code === 'ENOSPC' || code === 'EDQUOT')
        throw fileSystemErrorSync(err, {
          what: `write the audit log ${this.path}`,
          dir: dirname(this.path),
          setting: 'stateDir (DOOM_OPS_STATE_DIR)',
        });
      throw systemFileError(err, dirname(this.path)) ?? err;
    }
  }

  async query(
    filter: { tool?: string; principal?: string; sinceMs?: number; limit?: number } = {},
  ): Promise<AuditQuery> {
    const limit = filter.limit ?? 100;
    const out: AuditEntry[] = [];
    let damaged = 0;
    let stream: ReturnType<typeof createReadStream>;
    try {
      stream = createReadStream(this.path, { encoding: 'utf8' });
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
      });
    } catch {
      return { entries: [], damaged: 0 };
    }
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      let e: AuditEntry;
      try {
        e = JSON.parse(line) as AuditEntry;
        if (typeof e !== 'object' || e === null || typeof e.time !== 'string')
          throw new Error('not an entry');
      } catch {
        damaged++;
        continue;
      }
      if (filter.tool && e.tool !== filter.tool) continue;
      if (filter.principal && e.principal !== filter.principal) continue;
      if (filter.sinceMs && Date.parse(e.time) < filter.sinceMs) continue;
      out.push(e);
      if (out.length > limit) out.shift();
    }
    return { entries: out, damaged };
  }
}
