// Builds the web console (src/console, Vite + Preact) into dist/console. Everything comes from local node_modules.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import preact from '@preact/preset-vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'console');
rmSync(outDir, { recursive: true, force: true });
await build({
  root: join(root, 'src', 'console'),
  base: '/console/',
  configFile: false,
  logLevel: 'warn',
  // The prerender plugin of the preset would try to render the app in Node; the console is client-only.
  plugins: [preact({ prerender: { enabled: false } })],
  build: { outDir, emptyOutDir: true, sourcemap: false, assetsDir: 'assets', chunkSizeWarningLimit: 400 },
});
console.log(`console built into ${outDir}`);
