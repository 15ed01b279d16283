// `${VAR}` substitution in project.yml, done on the text before YAML parsing (doctl-cli.md §4.3).
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { ProjectError } from './model.js';

export interface SubstitutionResult {
  text: string;
  unresolved: string[];
  warnings: string[];
}

/** Reads an env file (JSON or dotenv syntax) into a flat string map. */
export function readEnvFile(file: string): Record<string, string> {
  const text = readFileSync(file, 'utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch (err) {
      throw new ProjectError(`The environment file '${file}' is not valid JSON: ${(err as Error).message}`);
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
    return out;
  }
  return parseDotenv(text);
}

/**
 * The substitution source: process env first, then the env file (`--env`, else `<project>/.env` if present).
 * A `--env` file that does not exist is an error.
 */
export function loadEnvSource(projectDir: string, envFile: string | undefined, processEnv: NodeJS.ProcessEnv): (name: string) => string | undefined {
  let fileVars: Record<string, string> = {};
  if (envFile) {
    const p = resolve(envFile);
    if (!existsSync(p)) throw new ProjectError(`The specified environment file '${envFile}' does not exist`);
    fileVars = readEnvFile(p);
  } else {
    const p = join(projectDir, '.env');
    if (existsSync(p)) fileVars = readEnvFile(p);
  }
  return (name) => processEnv[name] ?? fileVars[name];
}

/** A properties file (`key=value` or `key: value` lines, `#`/`!` comments) as a dict. */
function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Applies every substitution form to `text`; unresolved names become `<NAME>` and are collected. */
export function substitute(text: string, projectDir: string, lookup: (name: string) => string | undefined): SubstitutionResult {
  const unresolved: string[] = [];
  const warnings: string[] = [];
  const miss = (name: string): string => {
    if (!unresolved.includes(name)) unresolved.push(name);
    return `<${name}>`;
  };
  const dictOf = (names: string[]): string => {
    const dict: Record<string, string> = {};
    for (const n of names) {
      const v = lookup(n);
      if (v === undefined) miss(n);
      else dict[n] = v;
    }
    return JSON.stringify(dict);
  };
  let out = '';
  let i = 0;
  for (;;) {
    const next = text.slice(i).search(/\$[{(]/);
    if (next < 0) {
      out += text.slice(i);
      break;
    }
    const at = i + next;
    out += text.slice(i, at);
    const open = text[at + 1];
    const close = open === '{' ? '}' : ')';
    const end = text.indexOf(close, at + 2);
    // A reference may not span lines: a missing terminator on its line is a runaway.
    const eol = text.indexOf('\n', at);
    if (end < 0 || (eol >= 0 && end > eol)) throw new ProjectError('Runaway variable name or path directive in project.yml');
    const body = text.slice(at + 2, end).trim();
    i = end + 1;
    if (open === '(') {
      out += dictOf(body.split(/\s+/).filter(Boolean));
      continue;
    }
    if (body.startsWith('<')) {
      const rel = body.slice(1).trim();
      const file = isAbsolute(rel) ? rel : join(projectDir, rel);
      if (!existsSync(file)) {
        out += miss(rel);
        continue;
      }
      const content = readFileSync(file, 'utf8');
      let value: unknown;
      try {
        value = JSON.parse(content);
      } catch {
        value = parseProperties(content);
      }
      out += JSON.stringify(value);
      continue;
    }
    if (body.startsWith('|')) {
      const name = body.slice(1).trim();
      const v = lookup(name);
      out += v === undefined ? miss(name) : v;
      continue;
    }
    if (/\s/.test(body)) {
      warnings.push(`Warning: the form '\${${body}}' is deprecated; use '$(${body})' instead`);
      out += dictOf(body.split(/\s+/));
      continue;
    }
    const v = lookup(body);
    out += v === undefined ? miss(body) : v.replace(/\r?\n/g, '\\n');
  }
  return { text: out, unresolved, warnings };
}
