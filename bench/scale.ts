import { resolve } from 'node:path';
import { execa } from 'execa';
import { invokeTool } from '../src/tools/invoke.js';
import { scaleAgents } from '../src/tools/scaling/scale-agents.js';
import { alternate, context, median, ProjectVolumes, round } from './lib.js';

/**
 * issue 4: scale agent 1 -> 10 and back with scale_agents vs `docker-compose up -d --scale agent=10`
 * (and back to 1) on the same Compose-made stack; median of per-pair ratios of the round trip.
 */
export async function benchScale(): Promise<Record<string, unknown>> {
  const project = `dobenchscale${Date.now().toString(36)}`;
  const file = resolve('test/stack/docker-compose.yml');
  const env = { ...process.env, ORCHESTRATOR_MODE: 'normal' };
  const compose = (args: string[]) => execa('docker-compose', ['-p', project, '-f', file, ...args], { env });
  await execa('bash', ['test/stack/build-images.sh'], { stdio: 'inherit' });
  // Replicas removed by a scale-down keep their anonymous volumes (as Compose does): record them.
  const volumes = await ProjectVolumes.follow(project);
  await compose(['up', '-d', 'orchestrator', 'agent']);
  try {
    const base = context(project);
    const ctx = {
      ...base,
      config: {
        ...base.config,
        scaling: { ...base.config.scaling, agentService: 'agent', services: { agent: { min: 1, max: 10 } } },
      },
    };
    console.error('scale: scale_agents 1->10->1 vs docker-compose --scale (5 alternating rounds)…');
    const up: number[] = [];
    const down: number[] = [];
    const r = await alternate(
      5,
      async () => {
        let t = performance.now();
        await invokeTool(scaleAgents, ctx, { replicas: 10 });
        up.push(performance.now() - t);
        t = performance.now();
        await invokeTool(scaleAgents, ctx, { replicas: 1 });
        down.push(performance.now() - t);
      },
      async () => {
        await compose(['up', '-d', '--scale', 'agent=10', 'agent']);
        await compose(['up', '-d', '--scale', 'agent=1', 'agent']);
      },
    );
    return {
      scale_agents_1_10_1_vs_docker_compose_scale: {
        medianMs: round(median(r.aMs), 1),
        baselineMedianMs: round(median(r.bMs), 1),
        ratio: r.ratio,
        upMedianMs: round(median(up), 1),
        downMedianMs: round(median(down), 1),
        note: 'agents trap SIGTERM, so stops are quick on both sides; no drain hook configured',
      },
    };
  } finally {
    await compose(['down', '-v', '--remove-orphans', '-t', '1']).catch(() => {});
    await volumes.removeVolumes();
  }
}
