import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/util/concurrency.js';

describe('Semaphore', () => {
  it('runs at most `limit` at once, in arrival order, and frees a slot when one fails', async () => {
    const s = new Semaphore(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number, fail = false) =>
      s.run(async () => {
        active++;
        peak = Math.max(peak, active);
        order.push(i);
        await new Promise((r) => setTimeout(r, 10));
        active--;
        if (fail) throw new Error(`job ${i} failed`);
        return i;
      });
    const results = await Promise.allSettled([job(1), job(2, true), job(3), job(4), job(5)]);
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    // All slots are free again.
    expect(await Promise.all([job(6), job(7)])).toEqual([6, 7]);
  });
});
