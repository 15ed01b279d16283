// The latest progress value a running activation published (issue 10 point 7), as `/status` and the in-flight 404
// show it. It lives with the live logs in the store, so every node sees what the running node wrote.
import type { Store } from '../store/store.js';

/** Past any line number: the read returns no lines, only the state, progress and truncation of the run. */
const NO_LINES = 2_147_483_647;

/** The parsed progress value, or undefined when none was published (or the run already left the queue). */
export async function latestProgress(store: Store, namespace: string, activationId: string): Promise<unknown> {
  const live = await store.readLiveLogs(namespace, activationId, NO_LINES);
  if (live.progress === undefined) return undefined;
  try {
    return JSON.parse(live.progress);
  } catch {
    return undefined; // the publisher stores only valid JSON; never fail a status read over it
  }
}

/** `{progress}` when there is one, else nothing: spread into a body. */
export async function progressField(store: Store, namespace: string, activationId: string): Promise<{ progress?: unknown }> {
  const p = await latestProgress(store, namespace, activationId);
  return p === undefined ? {} : { progress: p };
}
