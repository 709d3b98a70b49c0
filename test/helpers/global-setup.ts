import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { imageIds, removeBuiltImages } from './engine-images.js';

/**
 * Unit-only runs need no engine; integration runs need the test image and the built CLI. The engine
 * is shared: every image this run builds (the test image, the doom-ops image of the packaging test,
 * its Node base and build stage) is labelled with the run's id (DOOM_OPS_BUILD_ID, read by the build
 * scripts), and the teardown removes exactly those that were not on the engine before the run.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const onlyUnit = process.argv.some((a) => a.includes('test/unit'));
  if (onlyUnit) return undefined;
  const buildId = `test-${randomBytes(6).toString('hex')}`;
  // Test files run in workers started after this, which inherit it (and pass it to the scripts).
  process.env.DOOM_OPS_BUILD_ID = buildId;
  const before = await imageIds();
  await execa('bash', ['test/stack/build-images.sh'], { stdio: 'inherit' });
  if (!existsSync('dist/src/cli/main.js')) await execa('npm', ['run', 'build'], { stdio: 'inherit' });
  return async () => {
    const { removed, kept } = await removeBuiltImages(buildId, before);
    if (removed.length)
      console.error(`test teardown: removed the images this run built: ${removed.join(', ')}`);
    for (const k of kept) console.error(`test teardown: kept ${k.image} (built by this run): ${k.reason}`);
  };
}
