import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const loaded = (re: RegExp) => Object.keys(require.cache).filter((k) => re.test(k));

describe('dockerode without its unused start-up weight', () => {
  it('loads neither gRPC/protobuf, ssh2, tar-fs nor readable-stream, and the stand-ins load the real modules when called', async () => {
    const { DockerClient } = await import('../../src/adapters/docker/dockerode-deferred.js');
    expect(typeof DockerClient).toBe('function');
    expect(loaded(/[/\\]node_modules[/\\](@grpc|protobufjs|ssh2|readable-stream|chownr|pump)[/\\]/)).toEqual(
      [],
    );
    // docker-modem's ssh transport: the stand-in is what the modem holds; called, it is the real one.
    const sshFile = join(
      dirname(createRequire(require.resolve('dockerode')).resolve('docker-modem')),
      'ssh.js',
    );
    const standIn = require(sshFile) as (opt: object) => { createConnection?: unknown };
    expect(standIn.name).toBe('deferred');
    const agent = standIn({ host: '127.0.0.1', port: 1, username: 'nobody' });
    expect(typeof agent.createConnection).toBe('function');
    expect(loaded(/[/\\]node_modules[/\\]ssh2[/\\]/).length).toBeGreaterThan(0);

    // The hijacked-stream class (exec, attach): `new` on the stand-in gives a real HttpDuplex.
    const duplexFile = join(dirname(sshFile), 'http_duplex.js');
    const Duplex = require(duplexFile) as new (req: object, res: object) => object;
    expect(Duplex.name).toBe('deferred');
    const stream = new Duplex(new EventEmitter(), new EventEmitter());
    expect(stream).toBeInstanceOf(require(duplexFile) as new () => object);
    expect(stream.constructor.name).toBe('HttpDuplex');

    // dockerode's build-context packer: each method loads tar-fs.
    const tarFs = require(createRequire(require.resolve('dockerode')).resolve('tar-fs')) as {
      pack: (dir: string) => { destroy(): void };
    };
    // (the stand-in holds tar-fs's own file name; its dependencies show the real one loaded)
    expect(loaded(/[/\\]node_modules[/\\](chownr|pump)[/\\]/)).toEqual([]);
    tarFs.pack(__dirname).destroy();
    expect(loaded(/[/\\]node_modules[/\\](chownr|pump)[/\\]/).length).toBeGreaterThan(0);
  });
});
