// Reads a project: project.yml (substituted, validated) merged with the packages/ directory tree (doctl-cli.md §4.1–4.3).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { functionName, ProjectError, type Dict, type FunctionSpec, type PackageSpec, type ProjectSpec, type WebFlag } from './model.js';
import { loadEnvSource, substitute } from './substitute.js';
import { configError, normaliseTrigger, validateConfig } from './validate.js';

export interface ReadOptions {
  envFile?: string;
  env?: NodeJS.ProcessEnv;
}

/** Names the top level may hold without being reported as strays. */
const KNOWN_TOP = new Set(['project.yml', 'project.yaml', 'projectConfig.yml', 'projectConfig.yaml', 'project.json', 'packages', 'lib', 'web', '.deployed', '.nimbella', '.env', '.gitignore', '.git', 'README.md', 'node_modules']);

/** Editor temp files are never part of a project. */
export function isEditorTemp(name: string): boolean {
  return name.endsWith('~') || name.startsWith('.#') || name.endsWith('.swp') || name.endsWith('.swx') || name.includes('_tmp_') || name === '.DS_Store';
}

/** The runtime implied by a file extension (undefined: binary or unknown). */
export function runtimeForExtension(ext: string): string | undefined {
  switch (ext.replace(/^\./, '').toLowerCase()) {
    case 'js':
    case 'mjs':
    case 'cjs':
    case 'ts':
      return 'nodejs:default';
    case 'py':
      return 'python:default';
    case 'go':
      return 'go:default';
    case 'php':
      return 'php:default';
    default:
      return undefined;
  }
}

/** Name and runtime of a single-file function from its file name (`hello.js`, `hello.nodejs-20.zip`). */
export function fileFunction(file: string): { name: string; runtime?: string; binary: boolean } {
  const base = basename(file);
  const zip = /^(.+?)\.([a-z]+)-([0-9][0-9.]*)\.(zip|jar)$/i.exec(base);
  if (zip) return { name: zip[1]!, runtime: `${zip[2]}:${zip[3]}`, binary: true };
  const ext = extname(base);
  if (!ext) return { name: base, binary: true };
  const name = base.slice(0, -ext.length);
  if (/^\.(zip|jar)$/i.test(ext)) return { name, binary: true };
  return { name, runtime: runtimeForExtension(ext), binary: false };
}

interface RawConfig {
  packages?: Dict[];
  parameters?: Dict;
  environment?: Record<string, string>;
  targetNamespace?: string | { test?: string; production?: string };
}

/** Finds and parses the config file; returns {} when there is none. */
function readConfig(dir: string, opts: ReadOptions, warnings: string[], unresolved: string[]): RawConfig {
  let file: string | undefined;
  for (const name of ['project.yml', 'project.yaml', 'projectConfig.yml', 'projectConfig.yaml', 'project.json']) {
    if (existsSync(join(dir, name))) {
      file = name;
      break;
    }
  }
  if (!file) {
    for (const name of readdirSync(dir)) {
      if (/\.(ya?ml)$/.test(name)) warnings.push(`Warning: found ${name} but no project.yml`);
    }
    // Without a config, an explicit --env file must still exist.
    loadEnvSource(dir, opts.envFile, opts.env ?? process.env);
    return {};
  }
  if (file.startsWith('projectConfig')) warnings.push(`Warning: the name '${file}' is deprecated; rename it to 'project.yml'`);
  const shownName = file.startsWith('project.j') ? 'project.json' : 'project.yml';
  const lookup = loadEnvSource(dir, opts.envFile, opts.env ?? process.env);
  const raw = readFileSync(join(dir, file), 'utf8');
  if (raw.includes('\t') && !file.endsWith('.json')) throw new ProjectError(configError('YAML configuration may not contain tabs', shownName));
  const sub = substitute(raw, dir, lookup);
  warnings.push(...sub.warnings);
  unresolved.push(...sub.unresolved);
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(sub.text) : parseYaml(sub.text);
  } catch (err) {
    throw new ProjectError(configError((err as Error).message.split('\n')[0]!, shownName));
  }
  const problem = validateConfig(parsed);
  if (problem) throw new ProjectError(configError(problem, shownName));
  return (parsed ?? {}) as RawConfig;
}

/** Reads the packages/ tree into packages and functions; collects strays. */
function readTree(dir: string, strays: string[]): PackageSpec[] {
  const pkgsDir = join(dir, 'packages');
  if (!existsSync(pkgsDir)) return [];
  const out: PackageSpec[] = [];
  for (const pkgName of readdirSync(pkgsDir).sort()) {
    if (isEditorTemp(pkgName) || pkgName.startsWith('.')) continue;
    const pkgDir = join(pkgsDir, pkgName);
    if (!statSync(pkgDir).isDirectory()) {
      strays.push(relative(dir, pkgDir));
      continue;
    }
    const pkg: PackageSpec = { name: pkgName, functions: [] };
    const seen = new Map<string, string>();
    for (const entry of readdirSync(pkgDir).sort()) {
      if (isEditorTemp(entry) || entry.startsWith('.')) continue;
      const p = join(pkgDir, entry);
      const rel = relative(dir, p);
      let fn: FunctionSpec;
      if (statSync(p).isDirectory()) {
        fn = { name: entry, package: pkgName, dir: p, displayPath: rel };
      } else {
        const f = fileFunction(entry);
        fn = { name: f.name, package: pkgName, file: p, displayPath: rel, binary: f.binary };
        if (f.runtime) fn.runtime = f.runtime;
      }
      const prev = seen.get(fn.name);
      if (prev) throw new ProjectError(`The action name '${fn.name}' appears twice, once as '${prev}' and once as '${rel}'`);
      seen.set(fn.name, rel);
      pkg.functions.push(fn);
    }
    out.push(pkg);
  }
  return out;
}

const asWeb = (v: unknown): WebFlag | undefined => (v === true || v === false || v === 'raw' ? v : undefined);

/** Merges config packages into the tree, by package name then function name; config values win. */
function merge(dir: string, tree: PackageSpec[], cfg: RawConfig): PackageSpec[] {
  const byName = new Map(tree.map((p) => [p.name, p]));
  for (const cp of cfg.packages ?? []) {
    const name = cp.name as string;
    let pkg = byName.get(name);
    if (!pkg) {
      pkg = { name, functions: [] };
      byName.set(name, pkg);
      tree.push(pkg);
    }
    if (cp.shared !== undefined) pkg.shared = cp.shared as boolean;
    if (cp.web !== undefined) pkg.web = asWeb(cp.web);
    if (cp.environment) pkg.environment = cp.environment as Record<string, string>;
    if (cp.parameters) pkg.parameters = cp.parameters as Dict;
    if (cp.annotations) pkg.annotations = cp.annotations as Dict;
    if (cp.binding) pkg.binding = cp.binding as { namespace: string; name: string };
    const fns = ((cp.functions ?? cp.actions) as Dict[] | undefined) ?? [];
    for (const cf of fns) {
      const fname = cf.name as string;
      let fn = pkg.functions.find((f) => f.name === fname);
      if (!fn) {
        fn = { name: fname, package: name };
        pkg.functions.push(fn);
      }
      if (typeof cf.file === 'string') {
        const p = resolve(dir, cf.file);
        fn.file = undefined;
        fn.dir = undefined;
        if (existsSync(p) && statSync(p).isDirectory()) fn.dir = p;
        else {
          fn.file = p;
          const f = fileFunction(p);
          fn.binary = f.binary;
          if (f.runtime) fn.runtime = f.runtime;
        }
        fn.displayPath = relative(dir, p);
      }
      for (const key of ['runtime', 'main', 'binary', 'docker', 'remoteBuild', 'localBuild', 'sequence', 'webSecure', 'parameters', 'environment', 'annotations', 'limits'] as const) {
        if (cf[key] !== undefined && cf[key] !== null) (fn as unknown as Dict)[key] = cf[key];
      }
      if (cf.web !== undefined) fn.web = asWeb(cf.web);
      if (Array.isArray(cf.triggers)) fn.triggers = cf.triggers.map((t) => normaliseTrigger(t).trigger as never);
    }
  }
  return tree;
}

/** Runtime of a directory function from its files (package.json → nodejs; otherwise the source extensions, which must agree). */
export function inferDirRuntime(fnDir: string): string | undefined {
  if (existsSync(join(fnDir, 'package.json'))) return 'nodejs:default';
  const found = new Set<string>();
  const walk = (d: string, depth: number): void => {
    for (const name of readdirSync(d)) {
      if (name === 'node_modules' || name === '__pycache__' || name.startsWith('.') || isEditorTemp(name)) continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        if (depth < 4) walk(p, depth + 1);
      } else {
        const r = runtimeForExtension(extname(name));
        if (r) found.add(r);
      }
    }
  };
  walk(fnDir, 0);
  if (found.size === 1) return [...found][0];
  if (found.size > 1) throw new ProjectError(`The runtime of '${relative(process.cwd(), fnDir) || fnDir}' could not be determined: the files are for more than one runtime (${[...found].join(', ')}); set 'runtime' in project.yml`);
  return undefined;
}

/** Reads and validates a whole project; throws ProjectError with the deployer's messages. */
export function readProject(projectDir: string, opts: ReadOptions = {}): ProjectSpec {
  const dir = resolve(projectDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ProjectError(`'${projectDir}' is not a directory`);
  const warnings: string[] = [];
  const unresolved: string[] = [];
  const strays: string[] = [];
  const cfg = readConfig(dir, opts, warnings, unresolved);
  for (const name of readdirSync(dir).sort()) {
    if (KNOWN_TOP.has(name) || isEditorTemp(name) || name.startsWith('.') || /\.(ya?ml|md|txt)$/i.test(name)) continue;
    strays.push(name);
  }
  const packages = merge(dir, readTree(dir, strays), cfg);
  // Fill in what the tree implies: runtimes of directory functions, and the web default.
  for (const pkg of packages) {
    for (const fn of pkg.functions) {
      if (fn.web === undefined) fn.web = pkg.web ?? true;
      if (!fn.runtime && fn.dir) fn.runtime = inferDirRuntime(fn.dir);
    }
  }
  let libBuild: string | undefined;
  for (const b of ['build.sh', 'build.cmd', 'package.json']) {
    if (existsSync(join(dir, 'lib', b))) {
      libBuild = b;
      break;
    }
  }
  return {
    path: dir,
    parameters: cfg.parameters ?? {},
    environment: cfg.environment ?? {},
    targetNamespace: cfg.targetNamespace,
    packages,
    strays,
    warnings,
    unresolvedVariables: unresolved,
    libBuild,
  };
}

/**
 * The --include/--exclude filter: comma lists of `pkg/`, `pkg` (a package) or `pkg/fn`. An explicitly included
 * function wins over exclusions; `web` (the legacy web folder) is never deployed.
 */
export class Includer {
  private readonly everything: boolean;
  private readonly inPkgs = new Set<string>();
  private readonly exPkgs = new Set<string>();
  private readonly inFns = new Set<string>();
  private readonly exFns = new Set<string>();
  constructor(include?: string, exclude?: string) {
    this.everything = !include;
    const add = (list: string | undefined, pkgs: Set<string>, fns: Set<string>) => {
      for (let t of (list ?? '').split(',').map((x) => x.trim())) {
        if (!t || t === 'web' || t === 'web/') continue;
        if (t.endsWith('/')) t = t.slice(0, -1);
        if (t.includes('/')) fns.add(t);
        else pkgs.add(t);
      }
    };
    add(include, this.inPkgs, this.inFns);
    add(exclude, this.exPkgs, this.exFns);
  }
  isFunctionIncluded(pkg: string, fn: string): boolean {
    if (this.inFns.has(`${pkg}/${fn}`)) return true;
    if (this.exPkgs.has(pkg) || this.exFns.has(`${pkg}/${fn}`)) return false;
    return this.everything || this.inPkgs.has(pkg);
  }
  /** A package's own metadata is deployed when it is included, or when one of its functions is named. */
  isPackageIncluded(pkg: PackageSpec): boolean {
    if (pkg.name === 'web') return false;
    const nominal = this.inPkgs.has(pkg.name) || (this.everything && !this.exPkgs.has(pkg.name));
    return nominal || [...this.inFns].some((f) => f.startsWith(`${pkg.name}/`));
  }
  filter(packages: PackageSpec[]): PackageSpec[] {
    return packages
      .filter((p) => this.isPackageIncluded(p))
      .map((p) => ({ ...p, functions: p.functions.filter((f) => this.isFunctionIncluded(p.name, f.name)) }));
  }
}

export { functionName };
