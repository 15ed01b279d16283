// Builds the web console (src/console, Vite + Preact) into dist/console. Everything comes from local node_modules.
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import preact from '@preact/preset-vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'console');
// The root tsconfig leaves the console out (DOM types, JSX); check it strictly here so type errors fail the build.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const check = spawnSync(process.execPath, [tsc, '-p', join(root, 'src', 'console', 'tsconfig.json')], { stdio: 'inherit' });
if (check.status !== 0) process.exit(check.status ?? 1);
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
