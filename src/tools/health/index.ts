import { defineToolset } from '../toolset.js';
import { recentIncidents } from './recent-incidents.js';
import { smokeTest } from './smoke-test.js';
import { stackHealth } from './stack-health.js';

export const health = defineToolset({
  name: 'health',
  description: 'Is the stack OK: health of every service, recent incidents, an end-to-end smoke test',
  tools: [stackHealth, recentIncidents, smokeTest],
});
