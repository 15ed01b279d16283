// Strict project.yml validation (doctl-cli.md §4.2): unknown keys and wrong types are errors, with the deployer's messages.
import { validateCron } from '../../scheduler/cron.js';

// Every kind some Flare node may offer (php and go depend on the node's packages; the server has the last word).
const RUNTIMES = ['nodejs:20', 'nodejs:default', 'python:3.11', 'python:default', 'php:8.2', 'php:default', 'go:default', 'blackbox'];
const FORBIDDEN_ANNOTATIONS: Record<string, string> = {
  'web-export': "the 'web' property",
  'raw-http': "the 'web' property",
  'require-whisk-auth': "the 'webSecure' property",
  'provide-api-key': '',
};

export const CONFIG_HELP =
  'Learn more about the project configuration file https://docs.digitalocean.com/products/functions/reference/project-configuration/';

/** Wraps a validation message the way the deployer prints it. */
export function configError(msg: string, file = 'project.yml'): string {
  return `Invalid project configuration file (${file}): ${msg} \n    ${CONFIG_HELP}`;
}

export function isValidRuntime(kind: string): boolean {
  return RUNTIMES.includes(kind) || /^go:1\.\d+$/.test(kind);
}

const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function validateEnvironment(env: unknown): string | undefined {
  if (!isDict(env)) return "the 'environment' member must be a dictionary";
  for (const [k, v] of Object.entries(env)) {
    if (typeof v !== 'string') return `All environment values must be strings but '${k}' has type '${typeName(v)}'`;
  }
  return undefined;
}

function validateAnnotations(ann: unknown, where: string): string | undefined {
  if (!isDict(ann)) return `'annotations' member of ${where} must be a dictionary`;
  for (const k of Object.keys(ann)) {
    if (k in FORBIDDEN_ANNOTATIONS) {
      const use = FORBIDDEN_ANNOTATIONS[k];
      return use ? `The '${k}' annotation is not allowed in project.yml; use ${use} instead` : `The '${k}' annotation is not allowed in project.yml`;
    }
  }
  return undefined;
}

function validateLimits(limits: unknown): string | undefined {
  if (!isDict(limits)) return "'limits' member of a 'functions' clause must be a dictionary";
  for (const [k, v] of Object.entries(limits)) {
    if (!['timeout', 'memory', 'logs'].includes(k)) return `Invalid key '${k}' found in 'limits' clause in project.yml`;
    if (typeof v !== 'number' || !Number.isFinite(v)) return `'${k}' member of a 'limits' clause must be a number`;
  }
  return undefined;
}

/** Accepts the documented legacy trigger form and the newer internal one; returns the normalised triggers or an error. */
export function normaliseTrigger(t: unknown): { error?: string; trigger?: Record<string, unknown> } {
  if (!isDict(t)) return { error: "each entry of 'triggers' must be a dictionary" };
  const out: Record<string, unknown> = {};
  let details: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(t)) {
    switch (k) {
      case 'name':
        if (typeof v !== 'string' || !v) return { error: "the 'name' member of a trigger must be a non-empty string" };
        out.name = v;
        break;
      case 'enabled':
        if (typeof v !== 'boolean') return { error: "the 'enabled' member of a trigger must be a boolean" };
        out.enabled = v;
        break;
      case 'type':
      case 'sourceType':
        if (v !== 'SCHEDULED' && v !== 'scheduler') return { error: `the trigger type '${String(v)}' is not supported (only 'scheduler')` };
        out.type = 'SCHEDULED';
        break;
      case 'scheduledDetails':
      case 'sourceDetails': {
        if (!isDict(v)) return { error: `the '${k}' member of a trigger must be a dictionary` };
        details = {};
        for (const [dk, dv] of Object.entries(v)) {
          if (dk === 'cron') details.cron = dv;
          else if (dk === 'body' || (dk === 'withBody' && k === 'sourceDetails')) details.body = dv;
          else return { error: `Invalid key '${dk}' found in 'scheduledDetails' of a trigger in project.yml` };
        }
        break;
      }
      default:
        return { error: `Invalid key '${k}' found in 'triggers' clause in project.yml` };
    }
  }
  if (!out.name) return { error: "the 'name' member of a trigger must be a non-empty string" };
  if (!details || typeof details.cron !== 'string') return { error: `the cron expression '${String(details?.cron ?? '')}' is not valid crontab syntax` };
  const cron = details.cron.trim();
  // The server's rules (5 fields, steps dividing the range, no seconds or @aliases), so deploy fails early.
  const cronErr = validateCron(cron);
  if (cronErr) return { error: cronErr };
  if (details.body !== undefined && !isDict(details.body)) return { error: "the 'body' member of scheduledDetails must be a dictionary" };
  out.type ??= 'SCHEDULED';
  out.enabled ??= true;
  out.scheduledDetails = { cron, ...(details.body !== undefined ? { body: details.body } : {}) };
  return { trigger: out };
}

function validateFunction(fn: unknown): string | undefined {
  if (!isDict(fn)) return "each entry of 'functions' must be a dictionary";
  for (const [k, v] of Object.entries(fn)) {
    if (v === undefined || v === null) continue;
    switch (k) {
      case 'name':
      case 'file':
      case 'main':
      case 'docker':
        if (typeof v !== 'string') return `'${k}' member of a 'functions' clause must be a string`;
        break;
      case 'runtime':
        if (typeof v !== 'string' || !isValidRuntime(v)) return `'${String(v)}' is not a valid runtime value`;
        break;
      case 'binary':
      case 'remoteBuild':
      case 'localBuild':
      case 'clean':
        if (typeof v !== 'boolean') return `'${k}' member of a 'functions' clause must be a boolean`;
        break;
      case 'sequence':
        if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) return "'sequence' member of a 'functions' clause must be an array of strings";
        break;
      case 'web':
        if (typeof v !== 'boolean' && v !== 'raw') return "'web' member of a 'functions' clause must be a boolean or 'raw'";
        break;
      case 'webSecure':
        if (v === true) return "'webSecure' may be false or a secret string; 'true' is not supported";
        if (v !== false && typeof v !== 'string') return "'webSecure' member of a 'functions' clause must be false or a string";
        break;
      case 'parameters':
        if (!isDict(v)) return "'parameters' member of a 'functions' clause must be a dictionary";
        break;
      case 'environment': {
        const e = validateEnvironment(v);
        if (e) return e;
        break;
      }
      case 'annotations': {
        const e = validateAnnotations(v, "a 'functions' clause");
        if (e) return e;
        break;
      }
      case 'limits': {
        const e = validateLimits(v);
        if (e) return e;
        break;
      }
      case 'triggers': {
        if (!Array.isArray(v)) return "'triggers' member of a 'functions' clause must be an array";
        for (const t of v) {
          const r = normaliseTrigger(t);
          if (r.error) return r.error;
        }
        break;
      }
      default:
        return `Invalid key '${k}' found in 'functions' clause in project.yml`;
    }
  }
  if (typeof fn.name !== 'string' || !fn.name) return "each function in project.yml must have a 'name'";
  return undefined;
}

function validatePackage(pkg: unknown): string | undefined {
  if (!isDict(pkg)) return "each entry of 'packages' must be a dictionary";
  const isDefault = pkg.name === 'default';
  for (const [k, v] of Object.entries(pkg)) {
    if (v === undefined || v === null) continue;
    switch (k) {
      case 'name':
        if (typeof v !== 'string') return "'name' member of a 'package' must be a string";
        break;
      case 'functions':
      case 'actions':
        if (!Array.isArray(v)) return `'${k}' member of a 'package' must be an array`;
        for (const fn of v) {
          const e = validateFunction(fn);
          if (e) return e;
        }
        break;
      case 'shared':
      case 'clean':
        if (typeof v !== 'boolean') return `'${k}' member of a 'package' must be a boolean`;
        if (isDefault && v) return `'${k}' must be absent or false for the default package`;
        break;
      case 'web':
        if (typeof v !== 'boolean' && v !== 'raw') return "'web' member of a 'package' must be a boolean or 'raw'";
        break;
      case 'environment': {
        const e = validateEnvironment(v);
        if (e) return e;
        if (isDefault && Object.keys(v as object).length) return "'environment' must be absent or empty for the default package";
        break;
      }
      case 'parameters':
        if (!isDict(v)) return "'parameters' member of a 'package' must be a dictionary";
        if (isDefault && Object.keys(v).length) return "'parameters' must be absent or empty for the default package";
        break;
      case 'annotations': {
        const e = validateAnnotations(v, "a 'package'");
        if (e) return e;
        if (isDefault && Object.keys(v as object).length) return "'annotations' must be absent or empty for the default package";
        break;
      }
      case 'binding':
        if (!isDict(v) || typeof v.namespace !== 'string' || typeof v.name !== 'string') return "'binding' member of a 'package' must be a dictionary with 'namespace' and 'name' strings";
        break;
      default:
        return `Invalid key '${k}' found in 'package' in project.yml`;
    }
  }
  if (typeof pkg.name !== 'string' || !pkg.name) return "each package in project.yml must have a 'name'";
  return undefined;
}

/** Returns the first problem in the parsed config, or undefined when it is valid. */
export function validateConfig(cfg: unknown): string | undefined {
  if (cfg === null || cfg === undefined) return undefined;
  if (!isDict(cfg)) return 'the project configuration must be a dictionary';
  for (const [k, v] of Object.entries(cfg)) {
    if (v === undefined || v === null) continue;
    switch (k) {
      case 'packages':
        if (!Array.isArray(v)) return "'packages' member must be an array";
        for (const p of v) {
          const e = validatePackage(p);
          if (e) return e;
        }
        break;
      case 'parameters':
        if (!isDict(v)) return "'parameters' member must be a dictionary";
        break;
      case 'environment': {
        const e = validateEnvironment(v);
        if (e) return e;
        break;
      }
      case 'targetNamespace':
        if (typeof v !== 'string' && !(isDict(v) && Object.keys(v).every((x) => x === 'test' || x === 'production')))
          return "'targetNamespace' must be a string or a dictionary containing 'test' and/or 'production' members";
        break;
      default:
        return `Invalid key '${k}' found in project.yml`;
    }
  }
  return undefined;
}
