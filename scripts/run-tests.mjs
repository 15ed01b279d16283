// Runs every test file with node's test runner (TypeScript through tsx).
// FLARE_TEST_FILTER=substring limits the files; FLARE_TEST_STORE=postgres runs the suites on PostgreSQL.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
};
walk(join(root, 'src'));
walk(join(root, 'test'));
const filter = process.env.FLARE_TEST_FILTER;
const selected = files.sort().filter((f) => !filter || filter.split(',').some((x) => f.includes(x)));
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected];
const runId = String(process.pid);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, FLARE_TEST_RUN_ID: runId } });
if (process.env.FLARE_TEST_STORE === 'postgres') await dropRunSchemas(runId);
process.exit(r.status ?? 1);

/** The end-to-end servers of this run each had a schema of their own; drop them all. */
async function dropRunSchemas(id) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
  try {
    await client.connect();
    const { rows } = await client.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", [`flare_t_${id}_%`]);
    for (const { nspname } of rows) await client.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
  } catch (err) {
    console.error(`could not drop the test schemas: ${err.message}`);
  } finally {
    await client.end().catch(() => {});
  }
}
