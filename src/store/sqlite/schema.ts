// SQLite schema. Idempotent: applied at every open.
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (
  name TEXT PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  key_hash TEXT NOT NULL,
  subject TEXT NOT NULL,
  created INTEGER NOT NULL,
  limits TEXT
);
CREATE TABLE IF NOT EXISTS entities (
  namespace TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  pkg TEXT NOT NULL DEFAULT '',
  doc TEXT NOT NULL,
  code TEXT,
  updated INTEGER NOT NULL,
  PRIMARY KEY (namespace, kind, name)
);
CREATE INDEX IF NOT EXISTS entities_by_updated ON entities (namespace, kind, updated DESC);
CREATE TABLE IF NOT EXISTS queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  activation_id TEXT NOT NULL UNIQUE,
  namespace TEXT NOT NULL,
  state TEXT NOT NULL,
  owner TEXT,
  lease_until INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_by_state ON queue (state, seq);
-- Every index is written on each enqueue/claim/complete: in-flight counts are kept in memory and lease renewal
-- walks the running rows, so the queue needs no other index.
DROP INDEX IF EXISTS queue_by_namespace;
DROP INDEX IF EXISTS queue_by_owner;
CREATE TABLE IF NOT EXISTS activations (
  activation_id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  filter_key TEXT NOT NULL,
  start INTEGER NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activations_by_start ON activations (namespace, start DESC);
CREATE INDEX IF NOT EXISTS activations_by_name ON activations (namespace, filter_key, start DESC);
DROP INDEX IF EXISTS activations_sweep;
-- Lines and progress of running activations that run long (src/live-logs/); deleted with the queue row.
CREATE TABLE IF NOT EXISTS live_logs (
  activation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  line TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (activation_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS live_state (
  activation_id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  progress TEXT,
  truncated INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL
);
-- Idempotency-Key rows (issue 11): written in the transaction that enqueues their activation.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  activation_id TEXT NOT NULL,
  expires INTEGER NOT NULL,
  PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires);
`;
