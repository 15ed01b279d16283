// Splits a Flare postgres:// URL into what `pg` understands and Flare's own query parameters.
// Flare's parameters: schema=<name> (all tables live there, created if missing), pool_max=<n> (pool size).

export interface PgTarget {
  /** The URL with Flare's parameters removed, for pg's connectionString. */
  connectionString: string;
  schema: string;
  poolMax: number;
}

const SCHEMA_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function parsePgUrl(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid PostgreSQL URL: ${redact(url)}`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`invalid PostgreSQL URL (expected postgres://…): ${redact(url)}`);
  }
  const schema = u.searchParams.get('schema') ?? 'public';
  // The schema name goes into SQL text (quoted), so only plain identifiers are accepted.
  if (!SCHEMA_RE.test(schema)) throw new Error(`invalid schema name in PostgreSQL URL: ${schema}`);
  const poolRaw = u.searchParams.get('pool_max');
  const poolMax = poolRaw === null ? 10 : Number(poolRaw);
  if (!Number.isInteger(poolMax) || poolMax < 1 || poolMax > 1000) throw new Error(`invalid pool_max in PostgreSQL URL: ${poolRaw}`);
  u.searchParams.delete('schema');
  u.searchParams.delete('pool_max');
  return { connectionString: u.toString(), schema, poolMax };
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}
