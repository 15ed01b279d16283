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
-- Keys beyond the first (the first is namespaces.uuid/key_hash; key_hash '' there means it was revoked).
CREATE TABLE IF NOT EXISTS namespace_keys (
  uuid TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  key_hash TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS namespace_keys_by_ns ON namespace_keys (namespace, created);
-- Insights rollups (src/insights/rollup.ts): fn '' is the whole namespace; res is 60000, 900000 or 3600000 ms.
CREATE TABLE IF NOT EXISTS insights_rollup (
  namespace TEXT NOT NULL, fn TEXT NOT NULL, res INTEGER NOT NULL, t INTEGER NOT NULL,
  s0 INTEGER NOT NULL, s1 INTEGER NOT NULL, s2 INTEGER NOT NULL, s3 INTEGER NOT NULL,
  cold INTEGER NOT NULL, dur_sum INTEGER NOT NULL,
  PRIMARY KEY (namespace, fn, res, t)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insights_hist (
  namespace TEXT NOT NULL, fn TEXT NOT NULL, res INTEGER NOT NULL, t INTEGER NOT NULL, b INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (namespace, fn, res, t, b)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS insights_rollup_sweep ON insights_rollup (res, t);
CREATE INDEX IF NOT EXISTS insights_hist_sweep ON insights_hist (res, t);
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
-- Grows with every write of an action or package (Store.entityEpoch): entity caches check it.
CREATE TABLE IF NOT EXISTS entity_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), v INTEGER NOT NULL);
INSERT OR IGNORE INTO entity_epoch (id, v) VALUES (1, 0);
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
-- Fair claiming (issue 9): the namespaces with queued work, and each one's oldest, read off this index.
CREATE INDEX IF NOT EXISTS queue_queued_by_ns ON queue (namespace, seq) WHERE state = 'queued';
-- Every index is written on each enqueue/claim/complete: in-flight counts are kept in memory and lease renewal
-- walks the running rows, so the queue needs no other index.
DROP INDEX IF EXISTS queue_by_namespace;
DROP INDEX IF EXISTS queue_by_owner;
CREATE TABLE IF NOT EXISTS activations (
  activation_id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  filter_key TEXT NOT NULL,
  start INTEGER NOT NULL,
  record TEXT NOT NULL,
  status_code INTEGER,
  cause TEXT
);
DROP INDEX IF EXISTS activations_sweep;
-- Exact record counts per (namespace, filter key, status code, hour): count=true reads these (activation-counts.ts).
CREATE TABLE IF NOT EXISTS activation_counts (
  namespace TEXT NOT NULL,
  filter_key TEXT NOT NULL,
  status_code INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (namespace, filter_key, status_code, hour)
) WITHOUT ROWID;
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
-- The invoke parameters of finished activations, kept for replay (issue 11) as long as the records; rowid order is
-- completion order, which the retention sweep follows.
CREATE TABLE IF NOT EXISTS activation_params (
  activation_id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  created INTEGER NOT NULL,
  payload TEXT NOT NULL
);
-- Completion callbacks (issue 11, src/deliveries/): the outbox row is written in the record's transaction.
CREATE TABLE IF NOT EXISTS deliveries (
  activation_id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  url TEXT NOT NULL,
  event_type TEXT NOT NULL,
  state TEXT NOT NULL,
  step INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER,
  owner TEXT,
  lease_until INTEGER,
  created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
CREATE TABLE IF NOT EXISTS delivery_attempts (
  activation_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at INTEGER NOT NULL,
  status INTEGER,
  error TEXT,
  latency_ms INTEGER NOT NULL,
  next_at INTEGER,
  PRIMARY KEY (activation_id, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_secrets (
  namespace TEXT PRIMARY KEY,
  secret TEXT NOT NULL,
  previous TEXT,
  previous_until INTEGER
);
`;

/**
 * Activation list indexes, applied after the status_code/cause columns exist (older files get them added and filled
 * once). Each ends with the full list order (start DESC, activation_id DESC), so a page, a cursor page or a skip is
 * read straight off the index (the skipped entries without their records) and never sorted.
 */
export const ACTIVATION_INDEXES = `
CREATE INDEX IF NOT EXISTS activations_ns_order ON activations (namespace, start DESC, activation_id DESC);
CREATE INDEX IF NOT EXISTS activations_key_order ON activations (namespace, filter_key, start DESC, activation_id DESC);
CREATE INDEX IF NOT EXISTS activations_status_order ON activations (namespace, status_code, start DESC, activation_id DESC);
CREATE INDEX IF NOT EXISTS activations_key_status_order ON activations (namespace, filter_key, status_code, start DESC, activation_id DESC);
-- The functions of a package (a name filter without "/" matches them too), in list order.
CREATE INDEX IF NOT EXISTS activations_pkg_order ON activations (namespace, substr(filter_key, 1, instr(filter_key, '/') - 1), start DESC, activation_id DESC) WHERE instr(filter_key, '/') > 0;
CREATE INDEX IF NOT EXISTS activations_cause_order ON activations (namespace, cause, start DESC, activation_id DESC) WHERE cause IS NOT NULL;
DROP INDEX IF EXISTS activations_by_start;
DROP INDEX IF EXISTS activations_by_name;
`;

/** Fills the counters once from the records already stored (files made before the counters existed). */
export const FILL_ACTIVATION_COUNTS = `
DELETE FROM activation_counts;
INSERT INTO activation_counts (namespace, filter_key, status_code, hour, n)
  SELECT namespace, filter_key, coalesce(status_code, 0), (start / 3600000) * 3600000, count(*) FROM activations GROUP BY 1, 2, 3, 4;
INSERT OR REPLACE INTO settings (key, value) VALUES ('activation_counts_filled', '1');
`;

/** Adds the filter columns to an activations table made before they existed, filled from the stored records. */
export const ACTIVATION_COLUMNS = `
ALTER TABLE activations ADD COLUMN status_code INTEGER;
ALTER TABLE activations ADD COLUMN cause TEXT;
UPDATE activations SET status_code = json_extract(record, '$.statusCode'), cause = json_extract(record, '$.cause');
`;

/** Columns added after the first release: SQLite has no ADD COLUMN IF NOT EXISTS, so each is checked first. */
export const ADDED_COLUMNS: Array<{ table: string; column: string; type: string }> = [
  // Epoch ms of the claim (the "running" commit), set by the claim statement itself: no extra write.
  { table: 'queue', column: 'started', type: 'INTEGER' },
  // The cancel request (JSON: requestedAt, by, reason) of a `cancelling` row (src/cancel/).
  { table: 'queue', column: 'cancel', type: 'TEXT' },
  // Epoch ms a `retrying` row may be queued again (src/retries/).
  { table: 'queue', column: 'not_before', type: 'INTEGER' },
  // The completion callback URL (NULL for nearly all rows): complete() reads it back as it deletes the row.
  { table: 'queue', column: 'callback', type: 'TEXT' },
];

/** Indexes on added columns, applied after ADDED_COLUMNS. Partial: only retrying rows are in it (no hot-path cost). */
export const ADDED_INDEXES = `
CREATE INDEX IF NOT EXISTS queue_retrying ON queue (not_before) WHERE state = 'retrying';
`;
