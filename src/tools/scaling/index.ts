import { defineToolset } from '../toolset.js';
import { scaleAgents } from './scale-agents.js';
import { scaleService } from './scale-service.js';

export const scaling = defineToolset({
  name: 'scaling',
  description: 'Scale the agents or a service within configured bounds (approval for risky scale-downs)',
  tools: [scaleAgents, scaleService],
});
