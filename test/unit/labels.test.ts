import { describe, expect, it } from 'vitest';
import { composeIdentity, containerName } from '../../src/adapters/docker/labels.js';

describe('compose labels', () => {
  it('reads project, service and replica number as Compose v1 and v2 write them', () => {
    const labels = {
      'com.docker.compose.project': 'clau-doom',
      'com.docker.compose.service': 'agent',
      'com.docker.compose.container-number': '3',
      'com.docker.compose.oneoff': 'False',
    };
    expect(composeIdentity(labels)).toEqual({
      project: 'clau-doom',
      service: 'agent',
      number: 3,
      oneoff: false,
    });
  });

  it('marks `compose run` containers as one-off (v1 "True", v2 "True"/"true")', () => {
    for (const value of ['True', 'true']) {
      const id = composeIdentity({
        'com.docker.compose.project': 'p',
        'com.docker.compose.service': 's',
        'com.docker.compose.oneoff': value,
      });
      expect(id?.oneoff).toBe(true);
    }
  });

  it('ignores containers Compose did not create, and bad numbers', () => {
    expect(composeIdentity({ 'com.docker.compose.project': 'p' })).toBeUndefined();
    expect(composeIdentity(undefined)).toBeUndefined();
    expect(
      composeIdentity({
        'com.docker.compose.project': 'p',
        'com.docker.compose.service': 's',
        'com.docker.compose.container-number': 'x',
      })?.number,
    ).toBe(0);
  });

  it('strips the engine name slash for both naming schemes', () => {
    expect(containerName(['/clau-doom_agent_1'])).toBe('clau-doom_agent_1');
    expect(containerName('/clau-doom-agent-1')).toBe('clau-doom-agent-1');
  });
});
