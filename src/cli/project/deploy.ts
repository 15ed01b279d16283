// `flare deploy`: builds each function and PUTs packages and actions, printing the deployer's transcript (doctl-cli.md §4.5).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiClient, ApiError } from '../api-client.js';
import type { Connection } from '../credentials.js';
import { CliError } from '../errors.js';
import { buildFunction, buildLib, type BuildOptions, type BuiltCode } from './build.js';
import { resolveConnection } from './connection.js';
import { functionName, ProjectError, type Dict, type FunctionSpec, type PackageSpec, type ProjectSpec } from './model.js';
import { Includer, readProject } from './reader.js';
import { readEnvFile } from './substitute.js';
import { deployTrigger } from './triggers.js';
import { loadVersions, saveVersions, type VersionEntry } from './versions.js';

export interface DeployFlags {
  env?: string;
  buildEnv?: string;
  apihost?: string;
  auth?: string;
  insecure?: boolean;
  verboseBuild?: boolean;
  verboseZip?: boolean;
  yarn?: boolean;
  include?: string;
  exclude?: string;
  remoteBuild?: boolean;
  incremental?: boolean;
  triggers?: boolean; // false with --no-triggers
  /** -o json: no transcript; print {transcript, outcome} at the end, as the deployer's --json does. */
  json?: boolean;
  /** Called from watch: the header is not repeated for each round. */
  watching?: boolean;
}

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface DeployResult {
  deployed: string[];
  /** Scheduled triggers created or updated. */
  triggers: string[];
  skipped: string[];
  failures: Array<{ context: string; message: string }>;
  namespace: string;
  apihost: string;
}

type KeyVal = { key: string; value: unknown; init?: boolean };

const keyVal = (d: Dict | undefined): KeyVal[] => Object.entries(d ?? {}).map(([key, value]) => ({ key, value }));

/** Parameters plus environment; environment entries are init parameters (process env of the function). */
function encodeParameters(params: Dict, env: Record<string, string>): KeyVal[] {
  return [...keyVal(params), ...Object.entries(env).map(([key, value]) => ({ key, value, init: true }))];
}

const digestOf = (...parts: unknown[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

/** Runs `fn` over `items` with at most `n` at once, keeping order of results. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

function deployerAnnotation(project: ProjectSpec): Dict {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers); keep 'unknown'
  }
  return { projectPath: project.path, user, ...gitInfo(project.path) };
}

/** The repository and commit of a project inside a git work tree (`++` marks uncommitted changes), as the deployer records. */
function gitInfo(dir: string): { repository?: string; commit?: string } {
  const git = (...args: string[]): string => execFileSync('git', ['-C', dir, ...args], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
  try {
    const commit = git('rev-parse', 'HEAD');
    let repository: string | undefined;
    try {
      repository = git('config', '--get', 'remote.origin.url') || undefined;
    } catch {
      repository = undefined; // no remote
    }
    const dirty = git('status', '--porcelain', '--', '.') !== '';
    return { ...(repository ? { repository } : {}), commit: dirty ? `${commit}++` : commit };
  } catch {
    return {}; // not a git work tree, or no git
  }
}

const errMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export interface Deployment {
  project: ProjectSpec;
  conn: Connection;
}

/** Reads the project and resolves where it goes; errors here stop before any transcript line. */
export async function prepareDeployment(dir: string, flags: DeployFlags, env: NodeJS.ProcessEnv): Promise<Deployment> {
  const project = readProject(dir, { envFile: flags.env, env });
  if (project.unresolvedVariables.length) {
    throw new ProjectError(`The following substitutions could not be resolved: ${project.unresolvedVariables.map((v) => `'${v}'`).join(', ')}`);
  }
  const target = typeof project.targetNamespace === 'string' ? project.targetNamespace : project.targetNamespace?.production;
  const conn = await resolveConnection({ apihost: flags.apihost, auth: flags.auth }, env, flags.apihost ? undefined : target);
  return { project, conn };
}

/** Deploys a prepared project; prints the transcript through `io`. Never throws for per-entity failures. */
export async function deployProject(dep: Deployment, flags: DeployFlags, realIo: Output): Promise<DeployResult> {
  const { project, conn } = dep;
  const client = new ApiClient(conn);
  const transcript: string[] = [];
  // With -o json the progress is silent and warnings are collected into the JSON transcript.
  const io: Output = flags.json ? { out: () => {}, err: (l) => transcript.push(l) } : realIo;
  for (const w of project.warnings) io.err(w);
  for (const s of project.strays) io.err(`Warning: '${s}' is not part of the project layout and was ignored`);
  for (const pkg of project.packages) {
    for (const fn of pkg.functions) {
      if (fn.remoteBuild) io.err(`Warning: remote builds are not available on Flare; '${functionName(fn)}' is built locally`);
    }
  }
  let buildEnv: Record<string, string> = {};
  if (flags.buildEnv) {
    const p = resolve(flags.buildEnv);
    if (!existsSync(p)) throw new ProjectError(`The specified environment file '${flags.buildEnv}' does not exist`);
    buildEnv = readEnvFile(p);
  }
  if (!flags.watching) {
    io.out(`Deploying '${project.path}'`);
    io.out(`  to namespace '${conn.namespace}'`);
    io.out(`  on host '${conn.apihost}'`);
  }

  const incremental = !!flags.incremental;
  const prev: VersionEntry = loadVersions(project.path, conn.apihost, conn.namespace);
  const next: VersionEntry = { apihost: conn.apihost, namespace: conn.namespace, packageVersions: { ...prev.packageVersions }, actionVersions: { ...prev.actionVersions } };
  const result: DeployResult = { deployed: [], triggers: [], skipped: [], failures: [], namespace: conn.namespace, apihost: conn.apihost };
  const buildOpts: BuildOptions = {
    projectDir: project.path,
    buildEnv,
    verboseBuild: !!flags.verboseBuild,
    verboseZip: !!flags.verboseZip,
    yarn: !!flags.yarn,
    incremental,
    log: io.out,
  };
  const deployer = deployerAnnotation(project);
  const packages = new Includer(flags.include, flags.exclude).filter(project.packages);

  if (project.libBuild) {
    try {
      await buildLib(project.path, buildOpts);
    } catch (err) {
      result.failures.push({ context: 'lib', message: errMessage(err) });
    }
  }

  // Packages first: their actions cannot be created before them.
  for (const pkg of packages) {
    if (pkg.name === 'default' || result.failures.length) continue;
    const params = { ...project.parameters, ...(pkg.parameters ?? {}) };
    const envs = { ...project.environment, ...(pkg.environment ?? {}) };
    const digest = digestOf(pkg.name, params, envs, pkg.annotations, !!pkg.shared, pkg.binding);
    const old = prev.packageVersions[pkg.name];
    if (incremental && old && old.digest === digest) continue;
    const body: Dict = {
      parameters: encodeParameters(params, envs),
      annotations: keyVal({ ...(pkg.annotations ?? {}), deployer: { ...deployer, digest: digest.slice(0, 8) } }),
      publish: !!pkg.shared,
    };
    if (pkg.binding) body.binding = pkg.binding;
    try {
      const res = await client.request<{ version?: string }>('PUT', `packages/${encodeURIComponent(pkg.name)}`, { query: { overwrite: true }, body });
      next.packageVersions[pkg.name] = { version: res.body?.version ?? '0.0.1', digest };
    } catch (err) {
      result.failures.push({ context: `package '${pkg.name}'`, message: errMessage(err) });
    }
  }

  const plain: Array<[PackageSpec, FunctionSpec]> = [];
  const sequences: Array<[PackageSpec, FunctionSpec]> = [];
  for (const pkg of packages) {
    for (const fn of pkg.functions) {
      (fn.sequence ? sequences : plain).push([pkg, fn]);
    }
  }
  if (!result.failures.length) {
    await pool(plain, 4, ([pkg, fn]) => deployFunction(client, project, pkg, fn, buildOpts, deployer, prev, next, result, incremental));
    for (const [pkg, fn] of sequences) await deployFunction(client, project, pkg, fn, buildOpts, deployer, prev, next, result, incremental);
  }
  // Triggers follow their functions (a trigger must name an existing function); --no-triggers skips them.
  if (flags.triggers !== false) {
    for (const [, fn] of [...plain, ...sequences]) {
      const name = functionName(fn);
      if (!fn.triggers?.length || !(result.deployed.includes(name) || result.skipped.includes(name))) continue;
      for (const t of fn.triggers) {
        try {
          await deployTrigger(client, name, t);
          result.triggers.push(t.name);
        } catch (err) {
          result.failures.push({ context: `trigger '${t.name}'`, message: errMessage(err) });
        }
      }
    }
  }

  // Nothing to record for an empty project: do not create .deployed just for that.
  const anything = result.deployed.length + result.skipped.length + Object.keys(next.packageVersions).length > 0;
  if (anything || existsSync(join(project.path, '.deployed'))) {
    if (saveVersions(project.path, next)) io.out(`Deployment status recorded in '.deployed'`);
  }
  result.deployed.sort();
  if (flags.json) {
    const outcome = {
      successes: [
        ...result.deployed.map((name) => ({ name, kind: 'action', skipped: false })),
        ...result.skipped.map((name) => ({ name, kind: 'action', skipped: true })),
        ...result.triggers.map((name) => ({ name, kind: 'trigger', skipped: false })),
      ],
      failures: result.failures,
      ignored: project.strays,
      packageVersions: next.packageVersions,
      actionVersions: next.actionVersions,
      namespace: conn.namespace,
      apihost: conn.apihost,
    };
    realIo.out(JSON.stringify({ transcript, outcome }, null, 2));
    return result;
  }
  io.out('');
  if (!result.deployed.length && !result.skipped.length && !result.triggers.length && !result.failures.length) io.out('Nothing deployed');
  if (result.deployed.length) {
    io.out(`Deployed functions ('flare fn get <funcName> --url' for URL):`);
    for (const name of result.deployed) io.out(`  - ${name}`);
  }
  // The deployer's wording is plural whatever the count.
  if (result.skipped.length) io.out(`Skipped ${result.skipped.length} unchanged functions`);
  if (result.triggers.length) {
    io.out('Deployed triggers:');
    for (const name of result.triggers) io.out(`  - ${name}`);
  }
  if (result.failures.length) {
    io.out('Failures:');
    for (const f of result.failures) io.err(`Error: While deploying ${f.context}: ${f.message}`);
  }
  return result;
}

async function deployFunction(
  client: ApiClient,
  project: ProjectSpec,
  pkg: PackageSpec,
  fn: FunctionSpec,
  buildOpts: BuildOptions,
  deployer: Dict,
  prev: VersionEntry,
  next: VersionEntry,
  result: DeployResult,
  incremental: boolean,
): Promise<void> {
  const name = functionName(fn);
  const context = `action '${name}'`;
  try {
    let built: BuiltCode | undefined;
    let exec: Dict;
    if (fn.sequence) {
      if (fn.file || fn.dir) throw new ProjectError('An action cannot be a sequence and also exist in the project directory structure');
      const components = fn.sequence.map((c) => (c.startsWith('/') ? c : `/${client.conn.namespace}/${c}`));
      exec = { kind: 'sequence', components };
    } else {
      built = await buildFunction(fn, buildOpts);
      const runtime = fn.docker ? 'blackbox' : built.runtime ?? fn.runtime;
      if (!runtime) throw new ProjectError(`Action '${name}' not deployed: runtime type could not be determined`);
      exec = { kind: runtime, code: built.code, binary: built.binary };
      if (fn.docker) exec.image = fn.docker;
      if (fn.main) exec.main = fn.main;
    }
    // The default package has no package entity, so project-level values go on its functions directly.
    const params = { ...(pkg.name === 'default' ? project.parameters : {}), ...(fn.parameters ?? {}) };
    // Environment is merged down so each function's process env is complete without relying on package inheritance.
    const envs = { ...project.environment, ...(pkg.environment ?? {}), ...(fn.environment ?? {}) };
    const annotations: Dict = { ...(fn.annotations ?? {}) };
    annotations.final = true;
    annotations['web-export'] = fn.web === true || fn.web === 'raw';
    annotations['raw-http'] = fn.web === 'raw';
    annotations['require-whisk-auth'] = typeof fn.webSecure === 'string' ? fn.webSecure : false;
    const digest = digestOf(exec, params, envs, annotations, fn.limits ?? null);
    const old = prev.actionVersions[name];
    if (incremental && old && old.digest === digest) {
      result.skipped.push(name);
      return;
    }
    annotations.deployer = { ...deployer, digest: digest.slice(0, 8), zipped: !!built?.zipped };
    const body: Dict = { exec, parameters: encodeParameters(params, envs), annotations: keyVal(annotations) };
    if (fn.limits && Object.keys(fn.limits).length) body.limits = fn.limits;
    const path = `actions/${name.split('/').map(encodeURIComponent).join('/')}`;
    const res = await client.request<{ version?: string }>('PUT', path, { query: { overwrite: true }, body });
    next.actionVersions[name] = { version: res.body?.version ?? '0.0.1', digest };
    result.deployed.push(name);
  } catch (err) {
    result.failures.push({ context, message: err instanceof ApiError || err instanceof ProjectError || err instanceof CliError ? err.message : errMessage(err) });
  }
}
