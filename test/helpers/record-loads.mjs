// Records every module a process loads (loaded with `node --import`; DOOM_OPS_TEST_LOADS = the file
// to write, one URL or path a line): ES modules as the resolve hook sees them, CommonJS ones (what
// dockerode and its dependencies require) from require's cache at exit.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.DOOM_OPS_TEST_LOADS;
if (file) {
  const hooks = `
    import { appendFileSync } from 'node:fs';
    let file;
    export function initialize(data) { file = data.file; }
    export async function resolve(specifier, context, next) {
      const r = await next(specifier, context);
      appendFileSync(file, r.url + '\\n');
      return r;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { file } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () =>
    appendFileSync(
      file,
      Object.keys(cache)
        .map((f) => `${f}\n`)
        .join(''),
    ),
  );
}
