// Runs WAL checkpoints on a worker thread with its own connection, so the fsync a checkpoint needs never stalls the
// event loop that answers requests (the main connection has auto-checkpointing turned off).
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let stopping = false;
parentPort.on('message', (m) => { if (m === 'stop') { stopping = true; } });
const tick = () => {
  if (stopping) { try { db.pragma('wal_checkpoint(PASSIVE)'); db.close(); } catch {} ; parentPort.postMessage('stopped'); return; }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    // A WAL that keeps growing (readers never let it reset) is truncated once it is fully checkpointed.
    if (r && r.log > 16384 && r.checkpointed === r.log) db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (err) { /* busy: try again next tick */ }
  setTimeout(tick, workerData.everyMs);
};
tick();
`;

export class Checkpointer {
  private readonly worker: Worker;

  constructor(path: string, everyMs = 250) {
    this.worker = new Worker(WORKER, { eval: true, workerData: { path, everyMs, driver: require_resolve('better-sqlite3') } });
    this.worker.unref();
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2_000);
      this.worker.once('message', () => {
        clearTimeout(t);
        resolve();
      });
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.worker.postMessage('stop');
    });
    await this.worker.terminate();
  }
}

function require_resolve(name: string): string {
  return fileURLToPath(import.meta.resolve(name));
}
