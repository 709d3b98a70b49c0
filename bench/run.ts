import { execa } from 'execa';
import { benchBackup } from './backup.js';
import { benchCli } from './cli.js';
import { benchHealthStats } from './health-stats.js';
import { writeResult } from './lib.js';
import { benchMcpContext } from './mcp-context.js';
import { benchMcpHttp } from './mcp-http.js';
import { benchRestore } from './restore.js';
import { benchScale } from './scale.js';
import { benchSlackBurst } from './slack-burst.js';

/** `npm run bench [name…]`: runs the benchmarks and writes bench/results/<name>.json. */
const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  'health-stats': benchHealthStats,
  scale: benchScale,
  backup: benchBackup,
  restore: benchRestore,
  'mcp-context': benchMcpContext,
  cli: benchCli,
  'slack-burst': benchSlackBurst,
  'mcp-http': benchMcpHttp,
};

const wanted = process.argv.slice(2);
const engine = (
  await execa('docker', ['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})'])
).stdout;
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const started = new Date().toISOString();
  const results = await run();
  const path = writeResult(name, {
    bench: name,
    started,
    engine,
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    results,
  });
  console.log(`${name}: ${JSON.stringify(results, null, 2)}\n(written to ${path})`);
}
