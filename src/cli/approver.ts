import { createInterface } from 'node:readline/promises';
import type { Config } from '../config/schema.js';
import { isToolError } from '../errors.js';
import { type Approver, planText } from '../safety/approver.js';
import { assertRole } from '../safety/roles.js';

/**
 * A human at a terminal approves by typing "yes" after reading the plan; `--yes` is the scripted
 * operator's explicit approval. Either way the CLI user must hold the approver role. Without a
 * terminal and without --yes, nothing destructive runs.
 */
export function cliApprover(config: Config, yes: boolean): Approver {
  return async (req) => {
    try {
      assertRole(config, req.principal, 'approver', `approving ${req.tool}`);
    } catch (err) {
      if (!isToolError(err)) throw err;
      return { approved: false, code: 'not_allowed', reason: err.message, hint: err.hint };
    }
    process.stderr.write(`${planText(req)}\n`);
    if (yes) return { approved: true, approver: req.principal.id, via: '--yes' };
    if (!process.stdin.isTTY) {
      return {
        approved: false,
        code: 'not_allowed',
        reason: `${req.tool} is destructive and there is no terminal to confirm on; nothing was done`,
        hint: 'run it in a terminal, or pass --yes to approve the plan above',
      };
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    let answer: string;
    try {
      answer = await rl.question('Type "yes" to approve: ');
    } catch {
      // Ctrl-D or Ctrl-C at the prompt: readline rejects with an AbortError. That is a "no".
      process.stderr.write('\n');
      return {
        approved: false,
        code: 'not_allowed',
        reason: 'no answer at the prompt (Ctrl-D or Ctrl-C); nothing was done',
        hint: 'run it again and type "yes" to approve the plan above',
      };
    } finally {
      rl.close();
    }
    return answer.trim() === 'yes'
      ? { approved: true, approver: req.principal.id, via: 'terminal prompt' }
      : { approved: false, code: 'not_allowed', reason: 'not approved; nothing was done' };
  };
}
