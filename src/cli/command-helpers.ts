// Shared pieces of the user commands: argument-count checks (doctl's messages) and the connected API client.
import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { currentConnection } from './credentials.js';
import { CliError } from './errors.js';

/** doctl's argument-count errors, e.g. `(functions.get) command is missing required arguments`. */
export function checkArgs(ns: string, args: string[], min: number, max: number): void {
  if (args.length < min) throw new CliError(`(${ns}) command is missing required arguments`);
  if (args.length > max) throw new CliError(`(${ns}) command contains unsupported arguments`);
}

export function connectedClient(opts: { trace?: boolean } = {}, env: NodeJS.ProcessEnv = process.env): ApiClient {
  return new ApiClient(currentConnection(env), { trace: Boolean(opts.trace) });
}

/** Parses a non-negative integer flag value, or throws a clear error. */
export function intFlag(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`invalid value '${String(value)}' for --${name}: must be a non-negative integer`);
  return n;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Variadic positional args plus our own count checks (so the messages are doctl's, not commander's). */
export function withArgs(cmd: Command, usage: string): Command {
  const first = usage.split(' ')[0] ?? '';
  const name = first.startsWith('[<') || first.startsWith('<') ? first.replace(/[[\]<>]/g, '') : 'args';
  return cmd.argument(`[${name}...]`).usage(usage).allowExcessArguments(true);
}
