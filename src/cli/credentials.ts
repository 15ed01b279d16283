// The credentials file in the doctl/nim credentials.json format; it keeps every namespace connected so far.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, NOT_CONNECTED } from './errors.js';

export interface Connection {
  apihost: string;
  namespace: string;
  auth: string;
  label?: string;
}

export interface NamespaceCredentials {
  api_key: string;
  storage?: unknown;
  redis?: unknown;
  label?: string;
  [key: string]: unknown;
}

export interface CredentialsFile {
  currentHost?: string;
  currentNamespace?: string;
  label?: string;
  credentials: Record<string, Record<string, NamespaceCredentials>>;
  [key: string]: unknown;
}

/** $FLARE_CONFIG_DIR/credentials.json, else Go's os.UserConfigDir()/flare/credentials.json. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLARE_CONFIG_DIR) return join(env.FLARE_CONFIG_DIR, 'credentials.json');
  return join(userConfigDir(env), 'flare', 'credentials.json');
}

function userConfigDir(env: NodeJS.ProcessEnv): string {
  const home = env.HOME || homedir();
  if (process.platform === 'win32') return env.APPDATA || join(home, 'AppData', 'Roaming');
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support');
  return env.XDG_CONFIG_HOME || join(home, '.config');
}

export function readCredentialsFile(env: NodeJS.ProcessEnv = process.env): CredentialsFile | undefined {
  const path = credentialsPath(env);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read the credentials file ${path}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(`cannot read the credentials file ${path}: not a JSON object`);
  }
  const file = parsed as CredentialsFile;
  if (!file.credentials || typeof file.credentials !== 'object') file.credentials = {};
  return file;
}

export function writeCredentialsFile(file: CredentialsFile, env: NodeJS.ProcessEnv = process.env): void {
  const path = credentialsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Write then rename so a concurrent reader never sees half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  const { currentHost, currentNamespace, label, credentials, ...rest } = file;
  const ordered = { currentHost, currentNamespace, label: label ?? '', credentials, ...rest };
  writeFileSync(tmp, JSON.stringify(ordered, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
  try {
    chmodSync(path, 0o600);
  } catch {
    // best effort (e.g. filesystems without modes)
  }
}

/** All stored connections, in file order. */
export function listConnections(env: NodeJS.ProcessEnv = process.env): Connection[] {
  const file = readCredentialsFile(env);
  if (!file) return [];
  const out: Connection[] = [];
  for (const [apihost, namespaces] of Object.entries(file.credentials)) {
    if (!namespaces || typeof namespaces !== 'object') continue;
    for (const [namespace, creds] of Object.entries(namespaces)) {
      if (!creds || typeof creds.api_key !== 'string') continue;
      out.push({ apihost, namespace, auth: creds.api_key, label: typeof creds.label === 'string' ? creds.label : undefined });
    }
  }
  return out;
}

/** The current connection; throws doctl's not-connected error when there is none. */
export function currentConnection(env: NodeJS.ProcessEnv = process.env): Connection {
  const file = readCredentialsFile(env);
  const host = file?.currentHost;
  const ns = file?.currentNamespace;
  if (!file || !host || !ns) throw new CliError(NOT_CONNECTED);
  const creds = file.credentials[host]?.[ns];
  if (!creds || typeof creds.api_key !== 'string') throw new CliError(NOT_CONNECTED);
  return { apihost: host, namespace: ns, auth: creds.api_key, label: typeof creds.label === 'string' ? creds.label : undefined };
}

/** Adds (or replaces) a connection beside the others; optionally makes it current. */
export function addConnection(conn: Connection, makeCurrent: boolean, env: NodeJS.ProcessEnv = process.env): void {
  const file: CredentialsFile = readCredentialsFile(env) ?? { credentials: {} };
  const hostEntry = (file.credentials[conn.apihost] ??= {});
  const prev = hostEntry[conn.namespace];
  const entry: NamespaceCredentials = { ...(prev ?? {}), api_key: conn.auth };
  if (conn.label !== undefined) entry.label = conn.label;
  hostEntry[conn.namespace] = entry;
  if (makeCurrent) {
    file.currentHost = conn.apihost;
    file.currentNamespace = conn.namespace;
    file.label = conn.label ?? entry.label ?? '';
  }
  writeCredentialsFile(file, env);
}

/** Makes a stored connection current (used by `connect <namespace or label>`). */
export function setCurrentConnection(conn: Connection, env: NodeJS.ProcessEnv = process.env): void {
  addConnection(conn, true, env);
}

/**
 * Called by `flare serve` at start: when the file has no current connection, store the bootstrap namespace and
 * make it current, so a new user can invoke at once. Never overwrites an existing current connection.
 * Returns true when it wrote the file.
 */
export function ensureBootstrapConnection(
  apihost: string,
  namespace: string,
  auth: string,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  let file: CredentialsFile | undefined;
  try {
    file = readCredentialsFile(env);
  } catch {
    return false; // an unreadable file is the user's; leave it alone
  }
  if (file?.currentHost && file.currentNamespace && file.credentials[file.currentHost]?.[file.currentNamespace]) {
    return false;
  }
  addConnection({ apihost, namespace, auth }, true, env);
  return true;
}
