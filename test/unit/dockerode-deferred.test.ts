import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const loaded = (re: RegExp) => Object.keys(require.cache).filter((k) => re.test(k));

describe('dockerode without its unused start-up weight', () => {
  it('loads neither gRPC/protobuf nor ssh2, and the stand-ins load the real modules when called', async () => {
    const { DockerClient } = await import('../../src/adapters/docker/dockerode-deferred.js');
    expect(typeof DockerClient).toBe('function');
    expect(loaded(/[/\\]node_modules[/\\](@grpc|protobufjs|ssh2)[/\\]/)).toEqual([]);
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
  });
});
