import { defineToolset } from '../toolset.js';
import { askTool } from './ask.js';
import { diagnoseOom } from './diagnose-oom.js';
import { explainRestarts } from './explain-restarts.js';
import { serviceStats } from './service-stats.js';

export const diagnosis = defineToolset({
  name: 'diagnosis',
  description:
    'Why: restart and OOM evidence from the engine, resource use against limits, questions in words',
  tools: [explainRestarts, diagnoseOom, serviceStats, askTool],
});
