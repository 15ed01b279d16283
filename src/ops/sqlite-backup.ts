// `flare admin backup <file>`: an online copy of the SQLite store through SQLite's backup API (better-sqlite3's
// db.backup()). It opens its own read-only connection, so it runs while the server writes (WAL: readers never
// block the writer); the copy is one consistent snapshot, checked with quick_check before it is reported.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface BackupResult {
  source: string;
  target: string;
  pages: number;
  activations: number;
  queued: number;
}

export async function backupSqlite(source: string, target: string): Promise<BackupResult> {
  if (!existsSync(source)) throw new Error(`no SQLite store at ${source}`);
  if (existsSync(target)) throw new Error(`${target} exists: choose a new file`);
  const db = new Database(source, { readonly: true, fileMustExist: true });
  let pages = 0;
  try {
    db.pragma('busy_timeout = 5000');
    // 1,000 pages a step: the copy restarts if the server writes meanwhile, and small steps keep that cheap.
    const done = await db.backup(target, { progress: (p) => ((pages = p.totalPages), 1_000) });
    pages = done.totalPages;
  } finally {
    db.close();
  }
  const copy = new Database(target, { readonly: true, fileMustExist: true });
  try {
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the copy failed its check: ${String(check)}`);
    const count = (sql: string) => (copy.prepare(sql).get() as { n: number }).n;
    return { source, target, pages, activations: count('SELECT count(*) AS n FROM activations'), queued: count('SELECT count(*) AS n FROM queue') };
  } finally {
    copy.close();
  }
}
