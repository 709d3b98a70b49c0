import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from '../../src/tools/define-tool.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { unitContext } from '../helpers/unit-context.js';

/**
 * A change judged a plain write before it got the stack lock is judged again under it: another
 * change made meanwhile (a scale-up before this scale-down) can turn it into one that needs a human.
 */
describe('a change judged again under the stack lock', () => {
  it('is refused when it has become destructive meanwhile, and runs nothing', async () => {
    // No engine is reached: the stack has no containers (secrets come from config only).
    const ctx = unitContext({ docker: { listStack: async () => [], cachesState: false } });
    let judged = 0;
    let ran = 0;
    const scale = defineTool({
      name: 'scale_like',
      title: 't',
      description: 'd',
      risk: 'write',
      idempotent: true,
      mayDestroy: true,
      input: z.object({}),
      output: z.object({ ok: z.boolean() }),
      // First look: a plain write; under the lock: the stack has changed, it needs a human now.
      effectiveRisk: () => (++judged === 1 ? 'write' : 'destructive'),
      plan: async () => ({ summary: 's', steps: [], dataAtRisk: [], fingerprint: 'f' }),
      async run() {
        ran++;
        return { ok: true };
      },
    });
    await expect(invokeTool(scale, ctx, {})).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/changed while this call waited, and it now needs a human approval/),
    });
    expect(ran).toBe(0);
    expect(judged).toBe(2);
    const { entries } = await ctx.safety.audit.query();
    expect(entries.map((e) => e.event)).toEqual(['requested', 'failed']);
  });
});
