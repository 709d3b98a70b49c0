import { readFileSync, writeFileSync } from 'node:fs';
import { withToolTable } from '../src/mcp/catalog.js';
import { registry } from '../src/tools/registry.js';

// Regenerates the tool table in README.md from the registry.
const readme = readFileSync('README.md', 'utf8');
writeFileSync('README.md', withToolTable(readme, registry));
console.log('README.md tool table updated');
