import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { imageIds, removeBuiltImages } from '../helpers/engine-images.js';
import { docker, upStack } from '../helpers/stack.js';

// The engine is shared: what the tests clean up must be exactly what they created. Another user's
// dangling anonymous volume or image, made while a test runs, is theirs.
const rand = () => randomBytes(4).toString('hex');

const volumeExists = (name: string) =>
  docker
    .getVolume(name)
    .inspect()
    .then(() => true)
    .catch(() => false);
const imageExists = (ref: string) =>
  docker
    .getImage(ref)
    .inspect()
    .then(() => true)
    .catch(() => false);

describe('test stacks clean up their own volumes only', () => {
  it("down() removes the anonymous volume of a replica removed mid-test and leaves a stranger's alone", async () => {
    const stack = await upStack({ services: ['nats'] });
    // Someone else on the engine, meanwhile: a dangling anonymous volume (random 64-hex name).
    const created = (await docker.createVolume({})) as unknown as { name?: string; Name?: string };
    const stranger = { Name: created.name ?? created.Name ?? '' };
    expect(stranger.Name).toMatch(/^[0-9a-f]{64}$/);
    try {
      // A replica of the test's project removed without its volumes, as a scale-down leaves it.
      const replica = await docker.createContainer({
        Image: 'doom-ops-test/base:latest',
        Cmd: ['sleep', '60'],
        Labels: {
          'com.docker.compose.project': stack.project,
          'com.docker.compose.service': 'agent',
          'com.docker.compose.container-number': '2',
          'com.docker.compose.oneoff': 'False',
        },
        Volumes: { '/data': {} },
      });
      await replica.start();
      const mine = (await replica.inspect()).Mounts.find((m) => m.Destination === '/data')!.Name!;
      expect(mine).toMatch(/^[0-9a-f]{64}$/);
      await replica.remove({ force: true }); // v: false, so the volume stays, dangling
      expect(await volumeExists(mine)).toBe(true);

      await stack.down();
      expect(await volumeExists(mine)).toBe(false);
      expect(await volumeExists(`${stack.project}_nats-data`)).toBe(false);
      expect(await volumeExists(stranger.Name)).toBe(true);
    } finally {
      await docker
        .getVolume(stranger.Name)
        .remove()
        .catch(() => {});
    }
  });
});

describe('the test run removes the images it built, and only those', () => {
  it('the global setup gave this run a build id the build scripts label their images with', () => {
    expect(process.env.DOOM_OPS_BUILD_ID).toMatch(/^test-[0-9a-f]{12}$/);
  });

  it('removes images labelled with the run id that appeared during the run; keeps older ones and strangers', async () => {
    // A run of its own, so this check does not touch what the suite's run built.
    const run = `test-probe-${rand()}`;
    const build = (tag: string) =>
      execa('bash', ['test/stack/build-images.sh'], {
        env: { ...process.env, DOOM_OPS_BUILD_ID: run, DOOM_OPS_TEST_IMAGE: tag },
      });
    const older = `doom-ops-test/probe-older-${rand()}:latest`;
    const built = `doom-ops-test/probe-built-${rand()}:latest`;
    const stranger = `doom-ops-test/probe-stranger-${rand()}:latest`;
    try {
      await build(older); // on the engine before the run started (same label: still not ours)
      const before = await imageIds();
      await build(built);
      // Someone else's image made during the run: no label of this run.
      const c = await docker.createContainer({ Image: 'doom-ops-test/base:latest', Cmd: ['true'] });
      await c.commit({ repo: stranger.split(':')[0], tag: 'latest' });
      await c.remove();
      expect(
        (await docker.getImage(built).inspect()).Config.Labels?.['doom-ops.build'],
        'build-images.sh labels what it builds',
      ).toBe(run);

      const r = await removeBuiltImages(run, before);
      expect(r).toEqual({ removed: [built], kept: [] });
      expect(await imageExists(built)).toBe(false);
      expect(await imageExists(older)).toBe(true);
      expect(await imageExists(stranger)).toBe(true);
      expect(await imageExists('doom-ops-test/base:latest')).toBe(true);
    } finally {
      for (const ref of [older, built, stranger])
        await docker
          .getImage(ref)
          .remove()
          .catch(() => {});
    }
  });
});
