// Builds a function and turns it into deployable code (doctl-cli.md §4.4): build.sh, npm, .include/.ignore, zipping.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, statSync, utimesSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { ProjectError, type FunctionSpec } from './model.js';
import { isEditorTemp, runtimeForExtension } from './reader.js';

export interface BuildOptions {
  projectDir: string;
  /** Extra environment for build scripts (--build-env). */
  buildEnv: Record<string, string>;
  verboseBuild: boolean;
  verboseZip: boolean;
  yarn: boolean;
  incremental: boolean;
  /** Progress lines (the deploy transcript). */
  log: (line: string) => void;
}

export interface BuiltCode {
  code: string;
  binary: boolean;
  runtime?: string;
  /** Whether the code was zipped from several files. */
  zipped: boolean;
  /** Relative paths of the shipped files (for --verbose-zip and tests). */
  files: string[];
}

const ALWAYS_EXCLUDED = new Set(['.ignore', 'build.sh', 'build.cmd', '__deployer__.zip', '.include', '.source']);

/** Runs a command in a directory; resolves with its output, rejects with a message naming the command. */
function run(cmd: string, args: string[], cwd: string, opts: BuildOptions, display: string): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...opts.buildEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer) => {
      out += d.toString();
      if (opts.verboseBuild) for (const l of d.toString().split('\n')) if (l) opts.log(l);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => reject(new ProjectError(`'${display}' could not be run: ${err.message}`)));
    child.on('exit', (code) => {
      if (code === 0) resolveRun();
      else reject(new ProjectError(`'${display}' exited with code ${code}${out.trim() ? `:\n${out.trim()}` : ''}`));
    });
  });
}

const mtime = (p: string): number => (existsSync(p) ? statSync(p).mtimeMs : -1);

/** Runs the directory's build step, if any (build.sh, or package.json → npm/yarn). */
export async function runBuild(dir: string, opts: BuildOptions): Promise<void> {
  const display = relative(opts.projectDir, dir) || '.';
  const hasSh = existsSync(join(dir, 'build.sh'));
  if (!hasSh && existsSync(join(dir, 'build.cmd'))) {
    throw new ProjectError(`In ${display}: 'build.cmd' won't run on this platform and no 'build.sh' is provided`);
  }
  if (hasSh) {
    const script = join(dir, 'build.sh');
    let executable = true;
    try {
      accessSync(script, constants.X_OK);
    } catch {
      executable = false;
    }
    opts.log(`Started running ./build.sh in ${display}`);
    await run(executable ? script : '/bin/sh', executable ? [] : [script], dir, opts, './build.sh');
    return;
  }
  const pkgJson = join(dir, 'package.json');
  if (!existsSync(pkgJson)) return;
  let scripts: Record<string, unknown> = {};
  try {
    scripts = (JSON.parse(readFileSync(pkgJson, 'utf8')).scripts ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new ProjectError(`In ${display}: package.json is not valid JSON: ${(err as Error).message}`);
  }
  const tool = opts.yarn ? 'yarn' : 'npm';
  const hasBuild = typeof scripts.build === 'string';
  const shown = opts.yarn ? (hasBuild ? 'yarn install && yarn build' : 'yarn install --production') : hasBuild ? 'npm install && npm run build' : 'npm install --production';
  if (opts.incremental) {
    const lock = join(dir, opts.yarn ? 'yarn.lock' : 'package-lock.json');
    const pj = mtime(pkgJson);
    if (mtime(join(dir, 'node_modules')) > pj && mtime(lock) > pj) {
      opts.log(`Skipping '${shown}' in ${display} because the previous build is still valid`);
      return;
    }
  }
  opts.log(`Started running ${shown} in ${display}`);
  // No audit/fund round trips: a deploy must not need the registry for local dependencies.
  const quiet = opts.yarn ? [] : ['--no-audit', '--no-fund'];
  if (hasBuild) {
    await run(tool, ['install', ...quiet], dir, opts, `${tool} install`);
    await run(tool, opts.yarn ? ['build'] : ['run', 'build'], dir, opts, opts.yarn ? 'yarn build' : 'npm run build');
  } else {
    await run(tool, ['install', '--production', ...quiet], dir, opts, `${tool} install --production`);
  }
  // npm leaves node_modules and the lock file untouched when nothing changed; mark the build as fresh for --incremental.
  const now = new Date();
  for (const p of [join(dir, 'node_modules'), join(dir, opts.yarn ? 'yarn.lock' : 'package-lock.json')]) {
    if (existsSync(p)) utimesSync(p, now, now);
  }
}

/** Converts one gitignore pattern into a test on a '/'-separated relative path. */
function ignoreMatcher(patterns: string[]): (rel: string, isDir: boolean) => boolean {
  const rules = patterns
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      let negate = false;
      if (l.startsWith('!')) {
        negate = true;
        l = l.slice(1);
      }
      const dirOnly = l.endsWith('/');
      if (dirOnly) l = l.slice(0, -1);
      const anchored = l.startsWith('/') || l.includes('/');
      l = l.replace(/^\//, '');
      let re = '';
      for (let i = 0; i < l.length; i++) {
        const c = l[i]!;
        if (c === '*') {
          if (l[i + 1] === '*') {
            re += '.*';
            i++;
            if (l[i + 1] === '/') i++;
          } else re += '[^/]*';
        } else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      const rx = new RegExp(anchored ? `^${re}(/.*)?$` : `(^|/)${re}(/.*)?$`);
      return { negate, dirOnly, rx };
    });
  return (rel, isDir) => {
    let ignored = false;
    for (const r of rules) {
      if (r.dirOnly && !isDir && !r.rx.test(rel.split('/').slice(0, -1).join('/'))) continue;
      if (r.rx.test(rel)) ignored = !r.negate;
    }
    return ignored;
  };
}

/** Lists files under `dir` (following symlinks, as npm links `file:` dependencies), as [zip path, absolute path]. */
function listFiles(dir: string, prefix: string, skip: (rel: string, isDir: boolean) => boolean, out: Array<[string, string]>, seen = new Set<string>()): void {
  const real = realpathSync(dir);
  if (seen.has(real)) return;
  seen.add(real);
  for (const name of readdirSync(dir).sort()) {
    if (isEditorTemp(name)) continue;
    const abs = join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    let st;
    try {
      st = statSync(abs);
    } catch {
      continue; // dangling link
    }
    if (skip(rel, st.isDirectory())) continue;
    if (st.isDirectory()) listFiles(abs, rel, skip, out, seen);
    else out.push([rel, abs]);
  }
}

/** The files a directory function ships: `.include` list, else everything minus `.ignore`. */
export function collectFiles(dir: string, display: string): Array<[string, string]> {
  const includeFile = existsSync(join(dir, '.include')) ? '.include' : existsSync(join(dir, '.source')) ? '.source' : undefined;
  const hasIgnore = existsSync(join(dir, '.ignore'));
  const out: Array<[string, string]> = [];
  if (includeFile && hasIgnore) throw new ProjectError(`In ${display}: '.include' and '.ignore' may not be used together`);
  if (includeFile) {
    const entries = readFileSync(join(dir, includeFile), 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (entries.length === 0) throw new ProjectError(`In ${display}: '${includeFile}' is empty`);
    for (const e of entries) {
      if (isAbsolute(e)) throw new ProjectError(`In ${display}: absolute paths are not allowed in '${includeFile}' ('${e}')`);
      const abs = resolve(dir, e);
      if (!existsSync(abs)) throw new ProjectError(`In ${display}: '${e}' named in '${includeFile}' does not exist`);
      // Paths that climb out of the function (../lib/x) land at their remaining path (lib/x).
      const zipPath = e.split(/[\\/]/).filter((s) => s && s !== '.' && s !== '..').join('/');
      if (statSync(abs).isDirectory()) listFiles(abs, zipPath, () => false, out);
      else out.push([zipPath, abs]);
    }
    return out;
  }
  const ignore = hasIgnore ? ignoreMatcher(readFileSync(join(dir, '.ignore'), 'utf8').split(/\r?\n/)) : () => false;
  listFiles(dir, '', (rel, isDir) => (!rel.includes('/') && ALWAYS_EXCLUDED.has(rel)) || ignore(rel, isDir), out);
  return out;
}

/** Runtime from the shipped files' extensions (they must agree), ignoring dependencies. */
function runtimeOfFiles(files: Array<[string, string]>, display: string): string | undefined {
  if (files.some(([rel]) => rel === 'package.json')) return 'nodejs:default';
  const found = new Set<string>();
  for (const [rel] of files) {
    if (rel.startsWith('node_modules/') || rel.includes('/node_modules/')) continue;
    const r = runtimeForExtension(extname(rel));
    if (r) found.add(r);
  }
  if (found.size > 1) throw new ProjectError(`In ${display}: the files are for more than one runtime (${[...found].join(', ')}); set 'runtime' in project.yml`);
  return [...found][0];
}

const ZIP_MTIME = new Date(2020, 0, 1);
const BINARY_EXT = /\.(zip|jar|gz|tgz|png|jpe?g|gif|ico|wasm|bin|pdf)$/i;

/** Builds (if needed) and produces the code of one function. */
export async function buildFunction(fn: FunctionSpec, opts: BuildOptions): Promise<BuiltCode> {
  if (fn.file) {
    if (!existsSync(fn.file)) throw new ProjectError(`The file '${fn.displayPath ?? fn.file}' does not exist`);
    const data = readFileSync(fn.file);
    const binary = fn.binary ?? BINARY_EXT.test(fn.file);
    return { code: binary ? data.toString('base64') : data.toString('utf8'), binary, runtime: fn.runtime, zipped: false, files: [fn.displayPath ?? fn.file] };
  }
  if (!fn.dir) throw new ProjectError('Action is named in the config but does not exist in the project');
  const display = relative(opts.projectDir, fn.dir) || fn.dir;
  await runBuild(fn.dir, opts);
  const files = collectFiles(fn.dir, display);
  if (files.length === 0) throw new ProjectError(`In ${display}: the directory contains no files to deploy`);
  const runtime = fn.runtime ?? runtimeOfFiles(files, display);
  if (files.length === 1 && !(fn.binary ?? false)) {
    const [rel, abs] = files[0]!;
    const data = readFileSync(abs);
    const binary = BINARY_EXT.test(rel);
    return { code: binary ? data.toString('base64') : data.toString('utf8'), binary, runtime: runtime ?? runtimeForExtension(extname(rel)), zipped: false, files: [rel] };
  }
  const tree: Zippable = {};
  for (const [rel, abs] of files) {
    // Files and directories nest in fflate's tree; a path segment per level.
    const parts = rel.split('/');
    let node = tree as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = new Uint8Array(readFileSync(abs));
    if (opts.verboseZip) opts.log(`Zipping ${rel}`);
  }
  // A fixed mtime (files and directory entries) keeps the zip, and so the incremental digest, stable between deploys.
  const zip = zipSync(tree, { level: 6, mtime: ZIP_MTIME });
  return { code: Buffer.from(zip).toString('base64'), binary: true, runtime, zipped: true, files: files.map(([r]) => r) };
}

/** Runs lib/'s build (build.sh, build.cmd or package.json) before the functions. */
export async function buildLib(projectDir: string, opts: BuildOptions): Promise<void> {
  await runBuild(join(projectDir, 'lib'), opts);
}

export const _test = { ignoreMatcher, sep };
