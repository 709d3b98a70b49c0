import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';

/**
 * dockerode, loaded without the parts doom-ops does not use at start-up: dockerode's BuildKit
 * session support (gRPC and protobuf, used only by image builds with registry auth, which doom-ops
 * never runs), its build-context packer (tar-fs, for image builds), docker-modem's ssh transport
 * (ssh2, needed only for an ssh:// DOCKER_HOST) and its hijacked-stream class (readable-stream, for
 * attach and hijacked execs) are replaced by stand-ins that load the real module on their first
 * call. Saves their module loading (about a third of a second) on every CLI run.
 */
const fromHere = createRequire(import.meta.url);
const dockerodeMain = fromHere.resolve('dockerode');
const fromDockerode = createRequire(dockerodeMain);

/** Loads `file` for real the first time, in place of its stand-in. */
function loader<T>(file: string): () => T {
  let real: T | undefined;
  return () => {
    if (real === undefined) {
      delete fromHere.cache[file];
      real = fromHere(file) as T;
    }
    return real;
  };
}

function standIn(file: string, exports: unknown): void {
  const stand = new Module(file) as Module & { loaded: boolean };
  stand.filename = file;
  stand.loaded = true;
  stand.exports = exports;
  fromHere.cache[file] = stand;
}

/**
 * A module that exports one function (or an ES5 constructor that returns its own instance when
 * called without `new`, as http_duplex does): the stand-in behaves as the module once called.
 */
function deferFunctionModule(file: string): void {
  if (fromHere.cache[file]) return;
  const real = loader<(...args: unknown[]) => unknown>(file);
  standIn(file, function deferred(this: unknown, ...args: unknown[]) {
    return real().apply(this, args);
  });
}

/** A module that exports an object of functions (`methods`), each loading the real module when called. */
function deferMethodsModule(file: string, methods: string[]): void {
  if (fromHere.cache[file]) return;
  const real = loader<Record<string, (...args: unknown[]) => unknown>>(file);
  standIn(
    file,
    Object.fromEntries(methods.map((m) => [m, (...args: unknown[]) => real()[m]!(...args)] as const)),
  );
}

// Both packages keep these beside their main file (lib/docker.js, lib/modem.js), required as
// './session', './ssh' and './http_duplex'; dockerode's lib/util.js requires tar-fs for
// prepareBuildContext (tar.pack) only.
const modemDir = dirname(fromDockerode.resolve('docker-modem'));
deferFunctionModule(join(dirname(dockerodeMain), 'session.js'));
deferFunctionModule(join(modemDir, 'ssh.js'));
deferFunctionModule(join(modemDir, 'http_duplex.js'));
deferMethodsModule(fromDockerode.resolve('tar-fs'), ['pack', 'extract']);

/** The dockerode constructor (the real module, with the two parts above loaded on first use). */
export const DockerClient: typeof Docker = fromHere('dockerode');
