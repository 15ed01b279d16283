// The OpenWhisk feed protocol, driven by the server (as `wsk trigger create --feed` drives it from the client): a
// trigger annotated `feed` has its feed action invoked with lifecycleEvent, triggerName and authKey.
import type { Identity, KeyValue } from '../types.js';
import type { ApiContext } from '../api/server.js';
import { resolveAction } from '../api/resolve-action.js';
import { annotation } from '../api/action-doc.js';

export type FeedEvent = 'CREATE' | 'READ' | 'UPDATE' | 'DELETE' | 'PAUSE' | 'UNPAUSE';

/** The trigger's feed action path, when it has one. */
export function feedOf(annotations: KeyValue[] | undefined): string | undefined {
  const f = annotation(annotations, 'feed');
  return typeof f === 'string' && f ? f : undefined;
}

/** Invokes the feed blocking; resolves to the feed's error message, or undefined on success. */
export async function invokeFeed(
  ctx: Pick<ApiContext, 'store' | 'invocations' | 'config'>,
  identity: Identity,
  feed: string,
  event: FeedEvent,
  triggerName: string,
  params: Record<string, unknown>,
  transactionId: string,
): Promise<string | undefined> {
  const [ns, ...rest] = feed.replace(/^\//, '').split('/');
  try {
    const action = await resolveAction(ctx.store, identity, ns!, rest.join('/'));
    const out = await ctx.invocations.invoke(identity, action, { ...params, lifecycleEvent: event, triggerName: `/${identity.namespace}/${triggerName}`, authKey: identity.authKey }, {
      blocking: true,
      waitMs: ctx.config.syncWaitMs,
      transactionId,
      received: Date.now(),
    });
    if (!out.record) return `feed action ${feed} did not answer in time`;
    if (out.record.statusCode === 0) return undefined;
    const r = out.record.response.result as { error?: unknown } | undefined;
    return typeof r?.error === 'string' ? r.error : JSON.stringify(r?.error ?? r ?? 'feed action failed');
  } catch (err) {
    return `feed action ${feed}: ${(err as Error).message}`;
  }
}
