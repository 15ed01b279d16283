// Deletes activation records older than the retention period (D4), and expired Idempotency-Keys, in small batches,
// so a sweep never holds the store for long.
import type { Logger } from 'pino';
import type { Store } from './store.js';

const BATCH = 200;
/** Insights read minute rows for at most 24 h and hour rows for at most 7 days (plus the current interval). */
const INSIGHTS_MINUTES_KEPT_MS = 25 * 3_600_000;
const INSIGHTS_HOURS_KEPT_MS = 8 * 86_400_000;
/**
 * After each batch the sweeper rests three times as long as the batch took: a sweep of a day of records uses at most
 * a quarter of the store's time (and of the event loop, with SQLite), so invokes keep their latency while it runs.
 */
const REST_FACTOR = 3;

async function restAfter(t0: number): Promise<void> {
  const took = performance.now() - t0;
  await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(1, took * REST_FACTOR))));
}

export function startRetentionSweeper(store: Store, retentionMs: number, logger: Logger): () => void {
  // Sweep often enough that a record outlives its retention by at most a quarter of it (capped at a minute).
  const every = Math.max(250, Math.min(60_000, Math.floor(retentionMs / 4)));
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const before = Date.now() - retentionMs;
      let total = 0;
      for (;;) {
        const t0 = performance.now();
        const n = await store.sweepActivations(before, BATCH);
        total += n;
        if (n < BATCH) break;
        await restAfter(t0);
      }
      // Expired Idempotency-Keys go the same way (they protect nothing any more).
      let keys = 0;
      for (;;) {
        const t0 = performance.now();
        const n = await store.sweepIdempotencyKeys(Date.now(), BATCH);
        keys += n;
        if (n < BATCH) break;
        await restAfter(t0);
      }
      // Insights rollups outlive the records: minute rows serve the 1 h and 24 h periods, hour rows the 7 d one.
      let rollups = 0;
      for (;;) {
        const t0 = performance.now();
        const n = await store.sweepInsights(Date.now() - INSIGHTS_MINUTES_KEPT_MS, Date.now() - INSIGHTS_HOURS_KEPT_MS, BATCH);
        rollups += n;
        if (n < BATCH) break;
        await restAfter(t0);
      }
      // Finished callback deliveries (and their attempts) go with the records they announced.
      let deliveries = 0;
      for (;;) {
        const t0 = performance.now();
        const n = await store.sweepDeliveries(before, BATCH);
        deliveries += n;
        if (n < BATCH) break;
        await restAfter(t0);
      }
      if (total || keys || rollups || deliveries) logger.info({ swept: total, idempotencyKeys: keys, insightsRows: rollups, deliveries }, 'retention sweep');
    } catch (err) {
      logger.error({ err }, 'retention sweep failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), every);
  timer.unref();
  void sweep();
  return () => clearInterval(timer);
}
