import { defineToolset } from '../toolset.js';
import { restartService } from './restart-service.js';
import { stackDown } from './stack-down.js';
import { stackUp } from './stack-up.js';
import { updateService } from './update-service.js';

export const lifecycle = defineToolset({
  name: 'lifecycle',
  description:
    'Change the stack: bring it up or down, restart or update a service (approvals where destructive)',
  tools: [stackUp, stackDown, restartService, updateService],
});
