// Scheduled triggers of a project (doctl-cli.md §4.2, §4.5, §1.3): deploy creates or updates them through
// /v2/functions/namespaces/<ns>/triggers; undeploy removes a function's triggers, or named ones.
import { ApiClient, ApiError } from '../api-client.js';
import type { TriggerSpec } from './model.js';

export interface TriggerJson {
  name: string;
  function: string;
  is_enabled?: boolean;
}

const base = (client: ApiClient) => `/v2/functions/namespaces/${encodeURIComponent(client.conn.namespace)}/triggers`;

export async function listTriggers(client: ApiClient): Promise<TriggerJson[]> {
  const res = await client.request<{ Triggers?: TriggerJson[] }>('GET', base(client));
  return res.body?.Triggers ?? [];
}

/** Creates the trigger, or updates it in place (a trigger that now invokes another function is re-created). */
export async function deployTrigger(client: ApiClient, fn: string, t: TriggerSpec): Promise<void> {
  const path = `${base(client)}/${encodeURIComponent(t.name)}`;
  const details = { cron: t.scheduledDetails?.cron ?? '', body: t.scheduledDetails?.body ?? {} };
  const enabled = t.enabled !== false;
  let existing: TriggerJson | undefined;
  try {
    existing = (await client.request<{ Trigger?: TriggerJson }>('GET', path)).body?.Trigger;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  if (existing && existing.function === fn) {
    await client.request('PUT', path, { body: { is_enabled: enabled, scheduled_details: details } });
    return;
  }
  if (existing) await client.request('DELETE', path);
  await client.request('POST', base(client), { body: { name: t.name, function: fn, type: 'SCHEDULED', is_enabled: enabled, scheduled_details: details } });
}

export async function deleteTrigger(client: ApiClient, name: string): Promise<void> {
  await client.request('DELETE', `${base(client)}/${encodeURIComponent(name)}`);
}

/** Deletes every trigger that invokes `fn` ("pkg/fn" or "fn"); returns their names. */
export async function deleteTriggersOf(client: ApiClient, fn: string, all?: TriggerJson[]): Promise<string[]> {
  const mine = (all ?? (await listTriggers(client))).filter((t) => t.function === fn);
  for (const t of mine) await deleteTrigger(client, t.name);
  return mine.map((t) => t.name);
}
