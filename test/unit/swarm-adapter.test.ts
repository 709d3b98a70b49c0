import { describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { SwarmAdapter } from '../../src/adapters/swarm/client.js';

/** A fake manager whose service update fails "out of sequence" `failures` times (what the engine answers with 500). */
function manager(failures: number) {
  let version = 10;
  const posted: number[] = [];
  const docker = {
    modem: {},
    version: async () => ({ ApiVersion: '1.41', Version: '20.10.24' }),
    getService: () => ({
      inspect: async () => ({
        Version: { Index: version },
        Spec: { Name: 'st_api', Mode: { Replicated: { Replicas: 2 } } },
      }),
      update: async (o: { _query: { version: number }; _body: { Mode: unknown } }) => {
        posted.push(o._query.version);
        if (failures-- > 0) {
          version++; // a rolling update in progress moved it on
          throw Object.assign(new Error('(HTTP code 500) server error - update out of sequence'), {
            statusCode: 500,
            json: { message: 'rpc error: code = Unknown desc = update out of sequence' },
          });
        }
        return { Warnings: [] };
      },
    }),
  };
  return { swarm: new SwarmAdapter(new DockerAdapter({ timeoutMs: 1000, docker: docker as never })), posted };
}

describe('SwarmAdapter.updateService', () => {
  it('an update out of sequence (the service moved on) is read again and retried once with the new version', async () => {
    const m = manager(1);
    await m.swarm.updateService('s1', 'scale st_api', (spec) => {
      spec.Mode = { Replicated: { Replicas: 4 } };
    });
    expect(m.posted).toEqual([10, 11]);
  });

  it('twice out of sequence: a conflict saying so, not an engine failure', async () => {
    const m = manager(2);
    await expect(m.swarm.updateService('s1', 'scale st_api', () => undefined)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/^scale st_api: the service kept changing while it was being updated/),
    });
    expect(m.posted).toEqual([10, 11]);
  });
});
