import { resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_PROJECT } from '../../src/cli/commands/demo.js';
import { DEMO_MARK, downHint } from '../../src/cli/commands/demo-run.js';
import { cli } from '../helpers/cli.js';
import { docker, uniqueProject } from '../helpers/stack.js';

// `doom-ops demo` on a shared engine: it starts and removes only projects it made itself (marked with
// a label), and its closing hint names the project it actually used.
const created: string[] = [];

/** Containers, networks and volumes of a project, by kind and name, with whether the demo marked them. */
async function resources(project: string) {
  const label = [`com.docker.compose.project=${project}`];
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters: { label } }),
    docker.listNetworks({ filters: { label } }),
    docker.listVolumes({ filters: { label } }),
  ]);
  return [
    ...containers.map((c) => ({ kind: 'container', id: c.Id, labels: c.Labels ?? {} })),
    ...networks.map((n) => ({ kind: 'network', id: n.Id, labels: n.Labels ?? {} })),
    ...(volumes.Volumes ?? []).map((v) => ({
      kind: 'volume',
      id: v.Name,
      labels: (v.Labels ?? {}) as Record<string, string>,
    })),
  ];
}

/** Removes everything of a project this file created (its names are unique to this file). */
async function removeProject(project: string): Promise<void> {
  for (const r of await resources(project)) {
    if (r.kind === 'container')
      await docker
        .getContainer(r.id)
        .remove({ force: true, v: true })
        .catch(() => {});
  }
  for (const r of await resources(project)) {
    if (r.kind === 'network')
      await docker
        .getNetwork(r.id)
        .remove()
        .catch(() => {});
    if (r.kind === 'volume')
      await docker
        .getVolume(r.id)
        .remove()
        .catch(() => {});
  }
}

afterAll(async () => {
  for (const p of created) await removeProject(p);
}, 120_000);

describe('doom-ops demo on a shared engine', () => {
  it('refuses to start or remove a project of that name it did not create, saying how to pick another', async () => {
    const project = uniqueProject('dodemoforeign');
    created.push(project);
    // Someone's stack that happens to have the name: one container of theirs.
    const theirs = await docker.createContainer({
      Image: 'doom-ops-test/base:latest',
      Cmd: ['sleep', '60'],
      Labels: {
        'com.docker.compose.project': project,
        'com.docker.compose.service': 'nats',
        'com.docker.compose.container-number': '1',
        'com.docker.compose.oneoff': 'False',
      },
    });
    const up = await cli(['demo', '--project', project], {}, 300_000);
    expect(up.exitCode).toBe(2);
    expect(up.stderr).toContain(
      `will not start the demo stack as project ${project}: that project already exists and the demo did not create it (container `,
    );
    expect(up.stderr).toContain(`pick another name for the demo: doom-ops demo --project ${project}-2`);
    expect(up.stderr).not.toMatch(/\n\s+at /);
    expect((await resources(project)).map((r) => r.id)).toEqual([theirs.id]);

    const down = await cli(['demo', '--down', '--project', project], {}, 120_000);
    expect(down.exitCode).toBe(2);
    expect(down.stderr).toContain(`will not remove the demo stack as project ${project}`);
    expect(down.stderr).toContain('nothing was removed');
    expect((await theirs.inspect()).Id).toBe(theirs.id);
  }, 400_000);

  it('starts its own project (again too), marks it, and its closing hint removes that project', async () => {
    const project = uniqueProject('dodemo');
    created.push(project);
    const first = await cli(['demo', '--project', project], {}, 300_000);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain(
      `node dist/src/cli/main.js demo --down --project ${project}   # remove it`,
    );
    const mine = await resources(project);
    expect(mine.map((r) => r.kind).sort()).toEqual(
      expect.arrayContaining(['container', 'network', 'volume']),
    );
    expect(mine.filter((r) => r.labels[DEMO_MARK] !== 'true')).toEqual([]);

    // Its own project is not a stranger's: running the demo again is fine.
    const again = await cli(['demo', '--project', project], {}, 300_000);
    expect(again.exitCode, again.stderr).toBe(0);

    // A container recreated without the demo's mark (as `doom-ops up` does) is still the demo's:
    // the project's networks and volumes carry the mark.
    await execa('docker-compose', [
      '-p',
      project,
      '-f',
      resolve('test/stack/docker-compose.yml'),
      'up',
      '-d',
      '--no-deps',
      '--force-recreate',
      'dashboard',
    ]);
    expect(
      (await resources(project)).filter((r) => r.labels[DEMO_MARK] !== 'true').map((r) => r.kind),
    ).toEqual(['container']);

    const down = await cli(['demo', '--down', '--project', project], {}, 120_000);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await resources(project)).toEqual([]);
    // Nothing left: said so, not "removed".
    const again2 = await cli(['demo', '--down', '--project', project], {}, 60_000);
    expect(again2.exitCode).toBe(0);
    expect(again2.stderr).toMatch(/no demo stack .* to remove/);
  }, 700_000);

  it('the default project keeps the quick start hint: `demo --down`', () => {
    expect(downHint(DEMO_PROJECT)).toBe('node dist/src/cli/main.js demo --down');
  });
});
