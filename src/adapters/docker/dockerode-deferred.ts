import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';

/**
 * dockerode, loaded without the parts doom-ops does not use at start-up: dockerode's BuildKit
 * session support (gRPC and protobuf, used only by image builds with registry auth, which doom-ops
 * never runs) and docker-modem's ssh transport (ssh2, needed only for an ssh:// DOCKER_HOST) are
 * replaced by stand-ins that load the real module on their first call. Both modules export a
 * single function, so the stand-in behaves as the module once it is called. Saves their module
 * loading (about a quarter of a second) on every CLI run.
 */
const fromHere = createRequire(import.meta.url);
const dockerodeMain = fromHere.resolve('dockerode');
const fromDockerode = createRequire(dockerodeMain);

function deferFunctionModule(file: string): void {
  if (fromHere.cache[file]) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const stand = new Module(file) as Module & { loaded: boolean };
  stand.filename = file;
  stand.loaded = true;
  stand.exports = function deferred(this: unknown, ...args: unknown[]) {
    if (!real) {
      delete fromHere.cache[file];
      real = fromHere(file) as (...a: unknown[]) => unknown;
    }
    return real.apply(this, args);
  };
  fromHere.cache[file] = stand;
}

// Both packages keep these beside their main file (lib/docker.js, lib/modem.js), required as './session' and './ssh'.
deferFunctionModule(join(dirname(dockerodeMain), 'session.js'));
deferFunctionModule(join(dirname(fromDockerode.resolve('docker-modem')), 'ssh.js'));

/** The dockerode constructor (the real module, with the two parts above loaded on first use). */
export const DockerClient: typeof Docker = fromHere('dockerode');
