import { existsSync } from 'node:fs';
import { execa } from 'execa';

/** Unit-only runs need no engine; integration runs need the test image and the built CLI. */
export default async function setup(): Promise<void> {
  const onlyUnit = process.argv.some((a) => a.includes('test/unit'));
  if (onlyUnit) return;
  await execa('bash', ['test/stack/build-images.sh'], { stdio: 'inherit' });
  if (!existsSync('dist/src/cli/main.js')) await execa('npm', ['run', 'build'], { stdio: 'inherit' });
}
