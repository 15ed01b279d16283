// `flare get-metadata`: the project structure as JSON, in doctl's ProjectMetadata shape (no credentials needed).
import type { Dict, FunctionSpec, PackageSpec, ProjectSpec } from './model.js';
import { Includer, readProject } from './reader.js';

export interface MetadataFlags {
  env?: string;
  include?: string;
  exclude?: string;
  triggers?: boolean; // false with --no-triggers
}

const nonEmpty = (d: Dict | undefined): Dict | undefined => (d && Object.keys(d).length ? d : undefined);

function fnMeta(fn: FunctionSpec, withTriggers: boolean): Dict {
  // Keys mirror doctl's ServerlessFunction (omitempty), with the runtime filled in.
  const out: Dict = { name: fn.name };
  if (fn.binary) out.binary = true;
  if (fn.main) out.main = fn.main;
  if (fn.runtime) out.runtime = fn.runtime;
  if (fn.web !== undefined && fn.web !== false) out.web = fn.web;
  if (fn.webSecure) out.webSecure = fn.webSecure;
  if (fn.sequence) out.sequence = fn.sequence;
  if (nonEmpty(fn.parameters)) out.parameters = fn.parameters;
  if (nonEmpty(fn.environment)) out.environment = fn.environment;
  if (nonEmpty(fn.annotations)) out.annotations = fn.annotations;
  if (nonEmpty(fn.limits as Dict)) out.limits = fn.limits;
  if (withTriggers && fn.triggers?.length) out.triggers = fn.triggers;
  return out;
}

function pkgMeta(pkg: PackageSpec, withTriggers: boolean): Dict {
  const out: Dict = { name: pkg.name };
  if (pkg.shared) out.shared = true;
  if (nonEmpty(pkg.environment)) out.environment = pkg.environment;
  if (nonEmpty(pkg.parameters)) out.parameters = pkg.parameters;
  if (nonEmpty(pkg.annotations)) out.annotations = pkg.annotations;
  if (pkg.functions.length) out.functions = pkg.functions.map((f) => fnMeta(f, withTriggers));
  return out;
}

export function projectMetadata(project: ProjectSpec, flags: MetadataFlags): Dict {
  const out: Dict = {};
  if (nonEmpty(project.parameters)) out.parameters = project.parameters;
  if (nonEmpty(project.environment)) out.environment = project.environment;
  const packages = new Includer(flags.include, flags.exclude).filter(project.packages);
  if (packages.length) out.packages = packages.map((p) => pkgMeta(p, flags.triggers !== false));
  if (project.unresolvedVariables.length) out.unresolvedVariables = project.unresolvedVariables;
  return out;
}

export function getMetadata(dir: string, flags: MetadataFlags, env: NodeJS.ProcessEnv = process.env): string {
  const project = readProject(dir, { envFile: flags.env, env });
  return JSON.stringify(projectMetadata(project, flags), null, 2) + '\n';
}
