import { readFileSync, writeFileSync } from 'node:fs';
import { DEFAULTS_JSON, precompileDefaults } from '../src/config/load.js';

// Regenerates config/default.yaml.json (the defaults the CLI reads at start-up) from config/default.yaml.
const copy = precompileDefaults(readFileSync('config/default.yaml', 'utf8'));
writeFileSync(`config/${DEFAULTS_JSON}`, `${JSON.stringify(copy, null, 2)}\n`);
console.log(`config/${DEFAULTS_JSON} updated`);
