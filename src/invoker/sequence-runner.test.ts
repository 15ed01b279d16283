// The sequence runner on a real SQLite store with no invoker claiming work: a component whose record never comes
// gives statusCode 3 "Timeout reached when retrieving activation <id> for sequence component." (the e2e tests cannot
// wait the real timeout + 1 minute), and a stop abandons the run without a record.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionDoc, ClaimedInvocation } from '../types.js';
import type { Store } from '../store/store.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { CompletionWaiters } from '../run-control/completion-waiters.js';
import { runSequence } from './sequence-runner.js';
import type { SequenceExec } from './sequence-components.js';

const dir = mkdtempSync(join(tmpdir(), 'flare-seq-runner-'));
let store: Store;
after(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const limits = { timeout: 100, memory: 256, logs: 10, concurrency: 1 };
const doc = (name: string, exec: ActionDoc['exec']): ActionDoc => ({
  namespace: 'ns', name, exec, parameters: [], limits, version: '0.0.1', publish: false, annotations: [], updated: Date.now(),
});
const seqInv = (id: string): ClaimedInvocation => ({
  activationId: id, namespace: 'ns', subject: 'ns', actionNamespace: 'ns', actionName: 'seq', params: { n: 1, _actions: ['x'] },
  transactionId: 't', received: Date.now(), blocking: false, state: 'running', attempts: 1,
});

test('a component record that never arrives: statusCode 3 with the component id; the component stays queued with its cause', async () => {
  store = await openSqliteStore(join(dir, 'flare.db'));
  await store.putEntity('ns', 'action', 'inc', doc('inc', { kind: 'nodejs:20', binary: false }), 'function main(a) { return a }');
  const seq = doc('seq', { kind: 'sequence', binary: false, components: ['/ns/inc', '/ns/inc'] } as SequenceExec) as ActionDoc & { exec: SequenceExec };
  const waiters = new CompletionWaiters(store);
  try {
    const record = await runSequence({ store, waiters, retrieveGraceMs: 200 }, seqInv('a'.repeat(32)), seq);
    assert.ok(record);
    assert.equal(record.logs.length, 1, 'the second component was never invoked');
    const componentId = record.logs[0]!;
    assert.equal(record.statusCode, 3);
    assert.equal(record.response.status, 'whisk internal error');
    assert.deepEqual(record.response.result, { error: `Timeout reached when retrieving activation ${componentId} for sequence component.` });
    assert.equal(record.duration, 0);
    // The component is a normal durable invocation: queued, with the sequence as its cause and the raw payload.
    const [queued] = await store.claim('test', 10, 60_000);
    assert.equal(queued?.activationId, componentId);
    assert.equal(queued?.cause, 'a'.repeat(32));
    assert.deepEqual(queued?.params, { n: 1 });
    assert.deepEqual(queued?.annotations, [{ key: 'causedBy', value: 'sequence' }]);

    // Stopping the invoker abandons a waiting sequence: no record (lease expiry resolves it as interrupted).
    const stop = new AbortController();
    const pending = runSequence({ store, waiters, signal: stop.signal }, seqInv('b'.repeat(32)), seq);
    setTimeout(() => stop.abort(), 50);
    assert.equal(await pending, undefined);
  } finally {
    waiters.close();
  }
});
