// Unit tests of the project reader, validator, substitution, builder and init (no server needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { substitute } from '../src/cli/project/substitute.js';
import { readProject, Includer, fileFunction } from '../src/cli/project/reader.js';
import { buildFunction, collectFiles } from '../src/cli/project/build.js';
import { initProject } from '../src/cli/project/init.js';
import { projectMetadata } from '../src/cli/project/metadata.js';
import { CONFIG_HELP } from '../src/cli/project/validate.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'projects', 'sample');

function tmpProject(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'flare-proj-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

const wrapped = (msg: string) => `Invalid project configuration file (project.yml): ${msg} \n    ${CONFIG_HELP}`;

test('substitution: env first, then the env file; newlines escaped; raw, dict and file forms', () => {
  const dir = tmpProject({ 'vals.json': '{"a": 1}', 'vals.properties': 'x=1\ny: two\n# c\n' });
  const vars: Record<string, string> = { A: 'alpha', B: 'line1\nline2', C: 'gamma' };
  const r = substitute('a: ${A}\nb: "${B}"\nraw: ${|A}\nd: $(A C)\nold: ${A C}\nf: ${<vals.json}\np: ${<vals.properties}\nm: ${MISSING}\nm2: ${MISSING}', dir, (n) => vars[n]);
  assert.equal(
    r.text,
    'a: alpha\nb: "line1\\nline2"\nraw: alpha\nd: {"A":"alpha","C":"gamma"}\nold: {"A":"alpha","C":"gamma"}\nf: {"a":1}\np: {"x":"1","y":"two"}\nm: <MISSING>\nm2: <MISSING>',
  );
  assert.deepEqual(r.unresolved, ['MISSING']);
  assert.equal(r.warnings.length, 1);
  assert.throws(() => substitute('a: ${OPEN\nb: 1', dir, () => 'x'), /^Error: Runaway variable name or path directive in project.yml$/);
  rmSync(dir, { recursive: true });
});

test('readProject: .env fills ${VAR}; the process env wins over it; --env must exist', () => {
  const p = readProject(FIXTURE, { env: {} });
  const demo = p.packages.find((x) => x.name === 'demo')!;
  assert.equal(demo.functions.find((f) => f.name === 'hello')!.environment!.SECRET_WORD, 'swordfish');
  const p2 = readProject(FIXTURE, { env: { SECRET_WORD: 'from-process' } });
  assert.equal(p2.packages.find((x) => x.name === 'demo')!.functions.find((f) => f.name === 'hello')!.environment!.SECRET_WORD, 'from-process');
  assert.throws(() => readProject(FIXTURE, { envFile: '/nonexistent/.env', env: {} }), { message: "The specified environment file '/nonexistent/.env' does not exist" });
});

test('readProject: layout, runtimes, web default, default package, merge with the config', () => {
  const p = readProject(FIXTURE, { env: {} });
  assert.deepEqual(p.packages.map((x) => x.name), ['default', 'demo']);
  const demo = p.packages.find((x) => x.name === 'demo')!;
  const byName = Object.fromEntries(demo.functions.map((f) => [f.name, f]));
  assert.equal(byName.hello!.runtime, 'nodejs:default');
  assert.equal(byName.pyhello!.runtime, 'python:default');
  assert.equal(byName.pyhello!.web, 'raw');
  assert.equal(byName.multi!.runtime, 'nodejs:default');
  assert.ok(byName.multi!.dir?.endsWith('multi'));
  assert.equal(byName.multi!.webSecure, 's3cret');
  assert.equal(byName.hello!.web, true);
  assert.deepEqual(byName.hello!.limits, { timeout: 5000, memory: 128 });
  assert.deepEqual(p.parameters, { greeting: 'Hello' });
  assert.deepEqual(p.environment, { PROJECT_LEVEL: 'project-env' });
  assert.deepEqual(p.strays, []);
});

test('readProject: duplicate names, strays and editor temp files', () => {
  const dir = tmpProject({ 'packages/p/a.js': 'x', 'packages/p/a/index.js': 'y', 'packages/stray.txt': 'z' });
  assert.throws(() => readProject(dir), { message: "The action name 'a' appears twice, once as 'packages/p/a' and once as 'packages/p/a.js'" });
  rmSync(join(dir, 'packages/p/a'), { recursive: true });
  writeFileSync(join(dir, 'packages/p/a.js~'), 'backup');
  writeFileSync(join(dir, 'packages/p/.#a.js'), 'lock');
  mkdirSync(join(dir, 'other'));
  const p = readProject(dir);
  assert.deepEqual(p.packages[0]!.functions.map((f) => f.name), ['a']);
  assert.deepEqual(p.strays.sort(), ['other', 'packages/stray.txt']);
  rmSync(dir, { recursive: true });
});

test('fileFunction: extension and name.<runtime>-<version>.zip', () => {
  assert.deepEqual(fileFunction('hello.js'), { name: 'hello', runtime: 'nodejs:default', binary: false });
  assert.deepEqual(fileFunction('hello.py'), { name: 'hello', runtime: 'python:default', binary: false });
  assert.deepEqual(fileFunction('hello.nodejs-20.zip'), { name: 'hello', runtime: 'nodejs:20', binary: true });
  assert.deepEqual(fileFunction('blob'), { name: 'blob', binary: true });
});

test('validation: strict keys and types, with the deployer messages', () => {
  const cases: Array<[string, string]> = [
    ['bogus: 1\n', "Invalid key 'bogus' found in project.yml"],
    ['packages:\n  - name: p\n    colour: red\n', "Invalid key 'colour' found in 'package' in project.yml"],
    ['packages:\n  - name: p\n    functions:\n      - name: f\n        wat: 1\n', "Invalid key 'wat' found in 'functions' clause in project.yml"],
    ['packages:\n  - name: p\n    functions:\n      - name: f\n        runtime: cobol:1\n', "'cobol:1' is not a valid runtime value"],
    ['packages:\n  - name: p\n    functions:\n      - name: f\n        limits:\n          timeout: soon\n', "'timeout' member of a 'limits' clause must be a number"],
    ['packages:\n  - name: p\n    functions:\n      - name: f\n        limits:\n          cpu: 1\n', "Invalid key 'cpu' found in 'limits' clause in project.yml"],
    ['environment:\n  N: 5\n', "All environment values must be strings but 'N' has type 'number'"],
    ['packages:\n  - name: p\n    functions:\n      - name: f\n        annotations:\n          web-export: true\n', "The 'web-export' annotation is not allowed in project.yml; use the 'web' property instead"],
    ['packages:\n  - name: p\n    functions:\n      - name: f\n        annotations:\n          require-whisk-auth: x\n', "The 'require-whisk-auth' annotation is not allowed in project.yml; use the 'webSecure' property instead"],
    ['packages:\n  - name: p\n    functions:\n      - name: f\n        webSecure: true\n', "'webSecure' may be false or a secret string; 'true' is not supported"],
    ['packages:\n  - name: default\n    parameters:\n      a: 1\n', "'parameters' must be absent or empty for the default package"],
    ['packages:\n\t- name: p\n', 'YAML configuration may not contain tabs'],
    [
      'packages:\n  - name: p\n    functions:\n      - name: f\n        triggers:\n          - name: t\n            sourceType: scheduler\n            sourceDetails:\n              cron: "61 * * * *"\n',
      "the cron expression '61 * * * *' is not valid crontab syntax",
    ],
  ];
  for (const [yml, msg] of cases) {
    const dir = tmpProject({ 'project.yml': yml });
    assert.throws(() => readProject(dir, { env: {} }), { message: wrapped(msg) }, yml);
    rmSync(dir, { recursive: true });
  }
});

test('validation: the documented trigger form is accepted and normalised', () => {
  const dir = tmpProject({
    'project.yml':
      'packages:\n  - name: p\n    functions:\n      - name: f\n        triggers:\n          - name: t\n            sourceType: scheduler\n            sourceDetails:\n              cron: "*/5 * * * *"\n              withBody: {name: sammy}\n',
    'packages/p/f.js': 'exports.main = () => ({})',
  });
  const p = readProject(dir, { env: {} });
  assert.deepEqual(p.packages[0]!.functions[0]!.triggers, [{ name: 't', type: 'SCHEDULED', enabled: true, scheduledDetails: { cron: '*/5 * * * *', body: { name: 'sammy' } } }]);
  rmSync(dir, { recursive: true });
});

test('get-metadata: unresolved variables are listed, not fatal', () => {
  const dir = tmpProject({ 'project.yml': 'parameters:\n  key: ${NOT_SET_ANYWHERE}\n', 'packages/p/f.py': 'def main(a): return a' });
  const meta = projectMetadata(readProject(dir, { env: {} }), {}) as Record<string, unknown>;
  assert.deepEqual(meta.unresolvedVariables, ['NOT_SET_ANYWHERE']);
  assert.deepEqual(meta.parameters, { key: '<NOT_SET_ANYWHERE>' });
  assert.deepEqual(meta.packages, [{ name: 'p', functions: [{ name: 'f', runtime: 'python:default', web: true }] }]);
  rmSync(dir, { recursive: true });
});

test('Includer: packages and single functions; explicit functions beat exclusions; web is never deployed', () => {
  const inc = new Includer('demo/hello,other/', undefined);
  assert.equal(inc.isFunctionIncluded('demo', 'hello'), true);
  assert.equal(inc.isFunctionIncluded('demo', 'multi'), false);
  assert.equal(inc.isFunctionIncluded('other', 'x'), true);
  const exc = new Includer(undefined, 'demo/multi');
  assert.equal(exc.isFunctionIncluded('demo', 'multi'), false);
  assert.equal(exc.isFunctionIncluded('demo', 'hello'), true);
  assert.equal(new Includer('demo/multi', 'demo').isFunctionIncluded('demo', 'multi'), true);
  assert.equal(new Includer('demo/multi', 'demo').isFunctionIncluded('demo', 'hello'), false);
  assert.equal(new Includer('demo', undefined).isFunctionIncluded('other', 'x'), false);
  assert.deepEqual(new Includer().filter([{ name: 'web', functions: [] }, { name: 'p', functions: [] }]).map((p) => p.name), ['p']);
});

const noLog = { projectDir: '/', buildEnv: {}, verboseBuild: false, verboseZip: false, yarn: false, incremental: false, log: () => {} };

test('build: .ignore drops files; several files are zipped (base64, binary) with their paths', async () => {
  const dir = tmpProject({ 'f/index.js': 'exports.main = () => ({})', 'f/sub/util.js': 'u', 'f/notes.txt': 'n', 'f/.ignore': '*.txt\n' });
  const built = await buildFunction({ name: 'f', package: 'p', dir: join(dir, 'f') }, { ...noLog, projectDir: dir });
  assert.equal(built.binary, true);
  assert.equal(built.zipped, true);
  assert.equal(built.runtime, 'nodejs:default');
  const entries = unzipSync(Buffer.from(built.code, 'base64'));
  assert.deepEqual(Object.keys(entries).filter((k) => !k.endsWith('/')).sort(), ['index.js', 'sub/util.js']);
  assert.equal(Buffer.from(entries['sub/util.js']!).toString(), 'u');
  rmSync(dir, { recursive: true });
});

test('build: one file ships as plain code; .include lists files (../lib allowed); errors', async () => {
  const dir = tmpProject({ 'f/main.py': 'def main(a): return a', 'f/junk.bin': 'x', 'f/.include': 'main.py\n', 'lib/shared.py': 's' });
  const built = await buildFunction({ name: 'f', package: 'p', dir: join(dir, 'f') }, { ...noLog, projectDir: dir });
  assert.deepEqual({ code: built.code, binary: built.binary, runtime: built.runtime }, { code: 'def main(a): return a', binary: false, runtime: 'python:default' });
  writeFileSync(join(dir, 'f/.include'), 'main.py\n../lib/shared.py\n');
  assert.deepEqual(collectFiles(join(dir, 'f'), 'f').map(([r]) => r), ['main.py', 'lib/shared.py']);
  writeFileSync(join(dir, 'f/.include'), '\n');
  assert.throws(() => collectFiles(join(dir, 'f'), 'f'), { message: "In f: '.include' is empty" });
  writeFileSync(join(dir, 'f/.ignore'), 'x');
  writeFileSync(join(dir, 'f/.include'), 'main.py');
  assert.throws(() => collectFiles(join(dir, 'f'), 'f'), { message: "In f: '.include' and '.ignore' may not be used together" });
  rmSync(dir, { recursive: true });
});

test('build: build.sh runs with the build env; build.cmd alone is refused', async () => {
  const dir = tmpProject({ 'f/build.sh': 'echo "exports.main = () => ({v: \'$BUILD_VALUE\'})" > out.js\n', 'g/build.cmd': 'echo hi' });
  const built = await buildFunction({ name: 'f', package: 'p', dir: join(dir, 'f') }, { ...noLog, projectDir: dir, buildEnv: { BUILD_VALUE: 'built' } });
  assert.equal(built.code.trim(), "exports.main = () => ({v: 'built'})");
  assert.equal(built.zipped, false);
  await assert.rejects(buildFunction({ name: 'g', package: 'p', dir: join(dir, 'g') }, { ...noLog, projectDir: dir }), {
    message: "In g: 'build.cmd' won't run on this platform and no 'build.sh' is provided",
  });
  rmSync(dir, { recursive: true });
});

test('build: package.json runs npm install --production offline with a local dependency, zipped with node_modules', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flare-proj-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const lines: string[] = [];
  const fnDir = join(dir, 'packages/demo/multi');
  const built = await buildFunction({ name: 'multi', package: 'demo', dir: fnDir }, { ...noLog, projectDir: dir, log: (l) => lines.push(l) });
  assert.deepEqual(lines, ['Started running npm install --production in packages/demo/multi']);
  const entries = unzipSync(Buffer.from(built.code, 'base64'));
  assert.ok(entries['node_modules/tiny-dep/index.js'], Object.keys(entries).join(','));
  assert.ok(entries['index.js'] && entries['helper.js']);
  assert.ok(!entries['notes.txt'], '.ignore applies');
  // With --incremental an up-to-date node_modules skips the install.
  const again: string[] = [];
  await buildFunction({ name: 'multi', package: 'demo', dir: fnDir }, { ...noLog, projectDir: dir, incremental: true, log: (l) => again.push(l) });
  assert.deepEqual(again, ["Skipping 'npm install --production' in packages/demo/multi because the previous build is still valid"]);
  rmSync(dir, { recursive: true });
});

test('init: writes the sample project; refuses an existing dir and unknown languages', () => {
  const base = mkdtempSync(join(tmpdir(), 'flare-init-'));
  const p = join(base, 'proj');
  assert.equal(
    initProject(p, 'javascript', false),
    `A local functions project directory '${p}' was created for you.\nYou may deploy it by running the command shown on the next line:\n  flare deploy ${p}\n`,
  );
  assert.ok(existsSync(join(p, 'packages/sample/hello/hello.js')));
  assert.equal(readFileSync(join(p, '.gitignore'), 'utf8'), '.nimbella\n.deployed\n__deployer__.zip\n__pycache__/\nnode_modules\npackage-lock.json\n.DS_Store\n');
  const proj = readProject(p, { env: {} });
  assert.equal(proj.packages[0]!.functions[0]!.runtime, 'nodejs:default');
  assert.throws(() => initProject(p, 'js', false), { message: `${p} already exists; use '--overwrite' to replace` });
  initProject(p, 'py', true);
  assert.ok(existsSync(join(p, 'packages/sample/hello/hello.py')));
  assert.equal(readProject(p, { env: {} }).packages[0]!.functions[0]!.runtime, 'python:default');
  assert.throws(() => initProject(join(base, 'x'), 'cobol', false), { message: 'cobol is not a supported language' });
  rmSync(base, { recursive: true });
});
