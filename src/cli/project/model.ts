// The in-memory shape of a project: project.yml merged with the directory tree (doctl-cli.md §4).

export type WebFlag = boolean | 'raw';
export type Dict = Record<string, unknown>;

export interface TriggerSpec {
  name: string;
  enabled?: boolean;
  type?: string;
  scheduledDetails?: { cron: string; body?: Dict };
}

export interface FunctionSpec {
  name: string;
  package: string; // 'default' for functions with no package
  /** Single file (absolute path) for a file function. */
  file?: string;
  /** Directory (absolute path) for a directory function. */
  dir?: string;
  /** Path relative to the project, for messages and metadata. */
  displayPath?: string;
  runtime?: string;
  main?: string;
  binary?: boolean;
  docker?: string;
  remoteBuild?: boolean;
  localBuild?: boolean;
  sequence?: string[];
  web?: WebFlag;
  webSecure?: string | false;
  parameters?: Dict;
  environment?: Record<string, string>;
  annotations?: Dict;
  limits?: { timeout?: number; memory?: number; logs?: number };
  triggers?: TriggerSpec[];
}

export interface PackageSpec {
  name: string;
  shared?: boolean;
  web?: WebFlag;
  environment?: Record<string, string>;
  parameters?: Dict;
  annotations?: Dict;
  binding?: { namespace: string; name: string };
  functions: FunctionSpec[];
}

export interface ProjectSpec {
  /** Absolute project directory. */
  path: string;
  parameters: Dict;
  environment: Record<string, string>;
  targetNamespace?: string | { test?: string; production?: string };
  packages: PackageSpec[];
  /** Things found in the tree that are not part of the project, relative paths. */
  strays: string[];
  warnings: string[];
  unresolvedVariables: string[];
  /** true when lib/ has a build to run first. */
  libBuild?: string;
}

/** Fully qualified-ish function name as the API and transcript use it: `pkg/fn`, or `fn` in the default package. */
export function functionName(fn: { name: string; package: string }): string {
  return fn.package === 'default' ? fn.name : `${fn.package}/${fn.name}`;
}

export class ProjectError extends Error {}
