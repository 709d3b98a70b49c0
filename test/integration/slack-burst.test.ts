import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeStack, removeAll } from '../../bench/lib.js';
import { slackBurst } from '../../bench/slack-burst.js';
import { uniqueProject } from '../helpers/stack.js';

/**
 * Slack's 3-second rule under a burst (issue 21): `doom-ops serve`, Slack pointed at a stand-in on
 * 127.0.0.1, 200 signed `/doom health` sent at once against a 32-container stack. Every ack must
 * arrive under 3 s and every command must be answered through its response_url. Bounded: 200
 * commands, 32 containers, two minutes for the answers.
 */
const CONTAINERS = 32;
const project = uniqueProject('doburst');
let ids: string[] = [];

beforeAll(async () => {
  ids = await makeStack(project, CONTAINERS);
}, 180_000);

afterAll(async () => {
  await removeAll(ids);
}, 120_000);

describe('a burst of slash commands against serve', () => {
  it('200 concurrent /doom health on 32 containers: every ack under 3 s, every command answered', async () => {
    const r = await slackBurst({ project, containers: CONTAINERS, commands: 200, concurrency: 200 });
    expect(r.acks.non200).toBe(0);
    expect(r.acks.maxMs).toBeLessThan(3000);
    expect(r.acks.over3s).toBe(0);
    expect(r.answered).toBe(200);
  }, 240_000);
});
