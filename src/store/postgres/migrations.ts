// Creates Flare's tables in one schema. Runs under a transaction-scoped advisory lock so several nodes can start at
// once: CREATE … IF NOT EXISTS alone races on the catalog (duplicate key errors) when two sessions run it together.
import { createHash } from 'node:crypto';
import type pg from 'pg';

/** Bumped when a migration step is added; stored in settings as `schema_version`. */
export const SCHEMA_VERSION = 1;

export function migrationSql(s: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.settings (
       key text PRIMARY KEY,
       value text NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s}.namespaces (
       name text PRIMARY KEY,
       uuid text NOT NULL UNIQUE,
       key_hash text NOT NULL,
       subject text NOT NULL,
       created bigint NOT NULL,
       limits text)`,
    // Keys beyond the first (the first is namespaces.uuid/key_hash; key_hash '' there means it was revoked).
    `CREATE TABLE IF NOT EXISTS ${s}.namespace_keys (
       uuid text PRIMARY KEY,
       namespace text NOT NULL,
       key_hash text NOT NULL,
       created bigint NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS namespace_keys_by_ns ON ${s}.namespace_keys (namespace, created)`,
    // Insights rollups (src/insights/rollup.ts): fn '' is the whole namespace; res is 60000, 900000 or 3600000 ms.
    `CREATE TABLE IF NOT EXISTS ${s}.insights_rollup (
       namespace text COLLATE "C" NOT NULL, fn text COLLATE "C" NOT NULL, res bigint NOT NULL, t bigint NOT NULL,
       s0 bigint NOT NULL, s1 bigint NOT NULL, s2 bigint NOT NULL, s3 bigint NOT NULL, cold bigint NOT NULL, dur_sum bigint NOT NULL,
       PRIMARY KEY (namespace, fn, res, t))`,
    `CREATE TABLE IF NOT EXISTS ${s}.insights_hist (
       namespace text COLLATE "C" NOT NULL, fn text COLLATE "C" NOT NULL, res bigint NOT NULL, t bigint NOT NULL, b smallint NOT NULL, n bigint NOT NULL,
       PRIMARY KEY (namespace, fn, res, t, b))`,
    `CREATE INDEX IF NOT EXISTS insights_rollup_sweep ON ${s}.insights_rollup (res, t)`,
    `CREATE INDEX IF NOT EXISTS insights_hist_sweep ON ${s}.insights_hist (res, t)`,
    // doc is kept as text (not jsonb) so the document's field order survives; code lives apart so lists and warm
    // invokes never read it.
    `CREATE TABLE IF NOT EXISTS ${s}.entities (
       namespace text NOT NULL,
       kind text NOT NULL,
       name text NOT NULL,
       pkg text NOT NULL DEFAULT '',
       updated bigint NOT NULL,
       doc text NOT NULL,
       code text,
       PRIMARY KEY (namespace, kind, name))`,
    // Grows with every write of an action or package (Store.entityEpoch): entity caches on every node check it.
    `CREATE TABLE IF NOT EXISTS ${s}.entity_epoch (id int PRIMARY KEY CHECK (id = 1), v bigint NOT NULL)`,
    `INSERT INTO ${s}.entity_epoch (id, v) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`,
    `CREATE INDEX IF NOT EXISTS entities_list ON ${s}.entities (namespace, kind, updated DESC)`,
    `CREATE INDEX IF NOT EXISTS entities_pkg_list ON ${s}.entities (namespace, kind, pkg, updated DESC)`,
    // The queue churns (insert, update, delete per invocation): a lower fillfactor keeps the claim update HOT.
    `CREATE TABLE IF NOT EXISTS ${s}.queue (
       activation_id text PRIMARY KEY,
       namespace text NOT NULL,
       state text NOT NULL,
       owner text,
       lease_until bigint,
       attempts integer NOT NULL DEFAULT 0,
       seq bigserial NOT NULL,
       payload text NOT NULL) WITH (fillfactor = 70)`,
    // Epoch ms of the claim (the "running" commit), set by the claim statement itself: no extra write.
    `ALTER TABLE ${s}.queue ADD COLUMN IF NOT EXISTS started bigint`,
    // Set when someone waits for the record (run control's ?wait): its completion is then NOTIFYed to every node.
    `ALTER TABLE ${s}.queue ADD COLUMN IF NOT EXISTS watched boolean NOT NULL DEFAULT false`,
    // Run control adds states (cancelling; retrying): the first release's CHECK of two states goes.
    `ALTER TABLE ${s}.queue DROP CONSTRAINT IF EXISTS queue_state_check`,
    // The cancel request (JSON: requestedAt, by, reason) of a `cancelling` row (src/cancel/); few rows are ever in
    // that state, so one small partial index serves lease renewal and the takeover of a dead node's cancels.
    `ALTER TABLE ${s}.queue ADD COLUMN IF NOT EXISTS cancel text`,
    `CREATE INDEX IF NOT EXISTS queue_cancelling ON ${s}.queue (lease_until) WHERE state = 'cancelling'`,
    // Fair claiming (issue 9): the namespaces with queued work, and each one's oldest, read off one index.
    `CREATE INDEX IF NOT EXISTS queue_queued_ns ON ${s}.queue (namespace, seq) WHERE state = 'queued'`,
    `DROP INDEX IF EXISTS ${s}.queue_queued`,
    // Epoch ms a `retrying` row may be queued again (src/retries/); only retrying rows are in its index.
    `ALTER TABLE ${s}.queue ADD COLUMN IF NOT EXISTS not_before bigint`,
    `CREATE INDEX IF NOT EXISTS queue_retrying ON ${s}.queue (not_before) WHERE state = 'retrying'`,
    `CREATE INDEX IF NOT EXISTS queue_running ON ${s}.queue (lease_until) WHERE state = 'running'`,
    `CREATE INDEX IF NOT EXISTS queue_owner ON ${s}.queue (owner) WHERE state = 'running'`,
    `CREATE INDEX IF NOT EXISTS queue_namespace ON ${s}.queue (namespace)`,
    // filter_key is the activation `name` filter key (activationFilterKey); pkg_key its package part ('' if none),
    // so a package filter is an index scan in start order too. Bytewise collation keeps comparisons exact.
    `CREATE TABLE IF NOT EXISTS ${s}.activations (
       activation_id text PRIMARY KEY,
       namespace text NOT NULL,
       filter_key text COLLATE "C" NOT NULL,
       pkg_key text COLLATE "C" NOT NULL DEFAULT '',
       start bigint NOT NULL,
       "end" bigint,
       status_code smallint NOT NULL,
       record text NOT NULL)`,
    `ALTER TABLE ${s}.activations ADD COLUMN IF NOT EXISTS pkg_key text COLLATE "C" NOT NULL DEFAULT ''`,
    // Each list index ends with the full ORDER BY (start DESC, activation_id DESC): a page is read straight off the
    // index, whatever the namespace's size, and never sorted.
    `CREATE INDEX IF NOT EXISTS activations_ns_order ON ${s}.activations (namespace, start DESC, activation_id DESC)`,
    `CREATE INDEX IF NOT EXISTS activations_key_order ON ${s}.activations (namespace, filter_key, start DESC, activation_id DESC)`,
    // status and cause filters (issue 12): the status index serves status alone and with a period; the key+status
    // index a function's failures; cause is set on few records (partial index).
    `ALTER TABLE ${s}.activations ADD COLUMN IF NOT EXISTS cause text COLLATE "C"`,
    `CREATE INDEX IF NOT EXISTS activations_status_order ON ${s}.activations (namespace, status_code, start DESC, activation_id DESC)`,
    `CREATE INDEX IF NOT EXISTS activations_key_status_order ON ${s}.activations (namespace, filter_key, status_code, start DESC, activation_id DESC)`,
    `CREATE INDEX IF NOT EXISTS activations_cause_order ON ${s}.activations (namespace, cause, start DESC, activation_id DESC) WHERE cause IS NOT NULL`,
    // Records written before the cause column existed get it once (the settings row marks it done).
    `UPDATE ${s}.activations SET cause = record::json ->> 'cause'
       WHERE cause IS NULL AND record LIKE '%"cause":%'
         AND NOT EXISTS (SELECT 1 FROM ${s}.settings WHERE key = 'activations_cause_filled')`,
    `INSERT INTO ${s}.settings (key, value) VALUES ('activations_cause_filled', '1') ON CONFLICT (key) DO NOTHING`,
    // Exact record counts per (namespace, filter key, status code, hour), kept by the statements that insert and sweep
    // records: count=true reads whole hours from here (store/activation-counts.ts). Filled once for older databases.
    `CREATE TABLE IF NOT EXISTS ${s}.activation_counts (
       namespace text NOT NULL,
       filter_key text COLLATE "C" NOT NULL,
       pkg_key text COLLATE "C" NOT NULL,
       status_code smallint NOT NULL,
       hour bigint NOT NULL,
       n bigint NOT NULL,
       PRIMARY KEY (namespace, filter_key, status_code, hour))`,
    `INSERT INTO ${s}.activation_counts (namespace, filter_key, pkg_key, status_code, hour, n)
       SELECT namespace, filter_key, min(pkg_key), status_code, (start / 3600000) * 3600000, count(*) FROM ${s}.activations
       WHERE NOT EXISTS (SELECT 1 FROM ${s}.settings WHERE key = 'activation_counts_filled')
       GROUP BY 1, 2, 4, 5`,
    `INSERT INTO ${s}.settings (key, value) VALUES ('activation_counts_filled', '1') ON CONFLICT (key) DO NOTHING`,
    `CREATE INDEX IF NOT EXISTS activations_pkg_order ON ${s}.activations (namespace, pkg_key, start DESC, activation_id DESC) WHERE pkg_key <> ''`,
    // The sweep's index is on the expression start + 0, used only by the sweep's `start + 0 < $1`: a plain (start)
    // index would be picked for list queries (records are inserted in start order, so it looks cheap) and walk past
    // every other namespace's records to fill a page of a small one.
    `CREATE INDEX IF NOT EXISTS activations_sweep ON ${s}.activations ((start + 0))`,
    `DROP INDEX IF EXISTS ${s}.activations_start`,
    `DROP INDEX IF EXISTS ${s}.activations_ns_start`,
    `DROP INDEX IF EXISTS ${s}.activations_ns_key_start`,
    // Lines and progress of running activations that run long (src/live-logs/); deleted with the queue row.
    `CREATE TABLE IF NOT EXISTS ${s}.live_logs (
       activation_id text NOT NULL,
       seq integer NOT NULL,
       line text NOT NULL,
       created bigint NOT NULL,
       PRIMARY KEY (activation_id, seq))`,
    `CREATE TABLE IF NOT EXISTS ${s}.live_state (
       activation_id text PRIMARY KEY,
       namespace text NOT NULL,
       progress text,
       truncated boolean NOT NULL DEFAULT false,
       created bigint NOT NULL)`,
    // Idempotency-Key rows (issue 11): written in the transaction that enqueues their activation.
    `CREATE TABLE IF NOT EXISTS ${s}.idempotency_keys (
       namespace text NOT NULL,
       key text NOT NULL,
       fingerprint text NOT NULL,
       activation_id text NOT NULL,
       expires bigint NOT NULL,
       PRIMARY KEY (namespace, key))`,
    `CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON ${s}.idempotency_keys (expires)`,
    // Admission (issue 9). In flight = enqueued - done. `admission_counts` (one row per namespace: invocations ever
    // enqueued, the current minute's admissions, how many the last enqueue statement admitted) is updated by every
    // enqueue statement, so its row lock orders the check and the insert of concurrent enqueues on every node.
    // Completions add to `admission_done`, another row, so completing never waits on enqueueing; an enqueue may read
    // `done` a moment old, which only errs towards refusing.
    `DROP TABLE IF EXISTS ${s}.admission`,
    `CREATE TABLE IF NOT EXISTS ${s}.admission_counts (
       namespace text PRIMARY KEY,
       enqueued bigint NOT NULL DEFAULT 0,
       minute bigint NOT NULL DEFAULT 0,
       minute_count integer NOT NULL DEFAULT 0,
       admitted integer NOT NULL DEFAULT 0) WITH (fillfactor = 50)`,
    `CREATE TABLE IF NOT EXISTS ${s}.admission_done (
       namespace text PRIMARY KEY,
       done bigint NOT NULL DEFAULT 0) WITH (fillfactor = 50)`,
    // Queues made before the counters existed get them once (the settings row marks it done).
    `INSERT INTO ${s}.admission_counts (namespace, enqueued)
       SELECT namespace, count(*) FROM ${s}.queue
       WHERE NOT EXISTS (SELECT 1 FROM ${s}.settings WHERE key = 'admission_counts_filled') GROUP BY namespace
       ON CONFLICT (namespace) DO NOTHING`,
    `INSERT INTO ${s}.settings (key, value) VALUES ('admission_counts_filled', '1') ON CONFLICT (key) DO NOTHING`,
    // The invoke parameters of finished activations, kept for replay (issue 11) as long as the records.
    `CREATE TABLE IF NOT EXISTS ${s}.activation_params (
       activation_id text PRIMARY KEY,
       namespace text NOT NULL,
       created bigint NOT NULL,
       payload text NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS activation_params_sweep ON ${s}.activation_params (created)`,
    // Completion callbacks (issue 11, src/deliveries/): the URL rides on the queue row (NULL for nearly all) and
    // complete() turns it into an outbox row in the record's statement.
    `ALTER TABLE ${s}.queue ADD COLUMN IF NOT EXISTS callback text`,
    `CREATE TABLE IF NOT EXISTS ${s}.deliveries (
       activation_id text PRIMARY KEY,
       namespace text NOT NULL,
       url text NOT NULL,
       event_type text NOT NULL,
       state text NOT NULL,
       step integer NOT NULL DEFAULT 0,
       attempts integer NOT NULL DEFAULT 0,
       next_at bigint,
       owner text,
       lease_until bigint,
       created bigint NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS deliveries_due ON ${s}.deliveries (next_at) WHERE state = 'pending'`,
    `CREATE INDEX IF NOT EXISTS deliveries_done ON ${s}.deliveries (created) WHERE state <> 'pending'`,
    `CREATE TABLE IF NOT EXISTS ${s}.delivery_attempts (
       activation_id text NOT NULL,
       attempt integer NOT NULL,
       at bigint NOT NULL,
       status integer,
       error text,
       latency_ms integer NOT NULL,
       next_at bigint,
       PRIMARY KEY (activation_id, attempt))`,
    `CREATE TABLE IF NOT EXISTS ${s}.webhook_secrets (
       namespace text PRIMARY KEY,
       secret text NOT NULL,
       previous text,
       previous_until bigint)`,
    `INSERT INTO ${s}.settings (key, value) VALUES ('schema_version', '${SCHEMA_VERSION}') ON CONFLICT (key) DO NOTHING`,
  ];
}

/**
 * Runs every step in one transaction holding an advisory lock keyed by the schema name. A node starting against a
 * schema whose steps are all applied (the hash of the step list is stored) skips them: CREATE INDEX IF NOT EXISTS
 * still takes a SHARE lock on its table, which would stall the other nodes' writes (lease renewals included)
 * during a rolling restart under load.
 */
export async function migrate(client: pg.ClientBase, schemaName: string, quoted: string): Promise<void> {
  const steps = migrationSql(quoted);
  const hash = createHash('sha256').update(migrationSql('"s"').join(';')).digest('hex');
  const applied = await client.query(`SELECT value FROM ${quoted}.settings WHERE key = 'schema_hash'`).then(
    (r) => (r.rows[0] as { value?: string } | undefined)?.value,
    () => undefined,
  );
  if (applied === hash) return;
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`flare_migrate:${schemaName}`]);
    for (const sql of steps) await client.query(sql);
    await client.query(`INSERT INTO ${quoted}.settings (key, value) VALUES ('schema_hash', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [hash]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
