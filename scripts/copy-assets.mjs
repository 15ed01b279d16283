// Copies non-TypeScript runtime assets (language runners) next to the compiled output.
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'src', 'runtime', 'runners');
const to = join(root, 'dist', 'runtime', 'runners');
mkdirSync(to, { recursive: true });
cpSync(from, to, { recursive: true, filter: (p) => !p.endsWith('.ts') });
