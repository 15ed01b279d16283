// .deployed/versions.json: what was deployed where, with digests, for --incremental (doctl-cli.md §4.1).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface VersionInfo {
  version: string;
  digest: string;
}

export interface VersionEntry {
  apihost: string;
  namespace: string;
  packageVersions: Record<string, VersionInfo>;
  actionVersions: Record<string, VersionInfo>;
}

function readAll(projectDir: string): VersionEntry[] {
  const file = join(projectDir, '.deployed', 'versions.json');
  if (!existsSync(file)) return [];
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(parsed) ? (parsed as VersionEntry[]) : [];
  } catch {
    return []; // a damaged file only costs a full deploy
  }
}

export function loadVersions(projectDir: string, apihost: string, namespace: string): VersionEntry {
  const found = readAll(projectDir).find((e) => e.apihost === apihost && e.namespace === namespace);
  return found ?? { apihost, namespace, packageVersions: {}, actionVersions: {} };
}

/** Stores the entry for its apihost/namespace; returns true when .deployed was just created. */
export function saveVersions(projectDir: string, entry: VersionEntry): boolean {
  const dir = join(projectDir, '.deployed');
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const all = readAll(projectDir).filter((e) => !(e.apihost === entry.apihost && e.namespace === entry.namespace));
  all.push(entry);
  writeFileSync(join(dir, 'versions.json'), JSON.stringify(all, null, 2) + '\n');
  return created;
}
