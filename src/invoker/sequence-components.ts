// Sequence components (§5.1, §7): parsing "/ns/[pkg/]name" names at PUT, the checks OpenWhisk makes (no component,
// self reference through any nesting, missing component, more than the maximum of atomic actions), and resolving a
// component at run time the same way an invoke resolves an action (bindings, package and action defaults).
import type { Store } from '../store/store.js';
import type { ActionDoc, ActionExec, Identity } from '../types.js';
import { ApiError, badRequest, Messages } from '../api/errors.js';
import { isValidName } from '../api/entity-names.js';
import { resolveAction, type ResolvedAction } from '../api/resolve-action.js';

export const SequenceMessages = {
  noComponent: 'No component specified for the sequence.',
  selfReference: 'Sequence may not refer to itself.',
  componentMissing: 'Sequence component does not exist.',
  tooLong: 'Too many actions in the sequence.',
  retrieveTimeout: (id: string) => `Timeout reached when retrieving activation ${id} for sequence component.`,
} as const;

/** The stored exec of a sequence: components are fully qualified ("/ns/pkg/name" or "/ns/name"). */
export type SequenceExec = ActionExec & { kind: 'sequence'; components: string[] };

export function isSequence(exec: ActionExec): exec is SequenceExec {
  return exec.kind === 'sequence' && Array.isArray((exec as SequenceExec).components);
}

export interface ComponentName {
  namespace: string;
  /** "pkg/name" or "name" inside the namespace. */
  path: string;
}

/** "/ns/pkg/a" → {namespace: "ns", path: "pkg/a"}. */
export function splitComponent(fq: string): ComponentName {
  const parts = fq.replace(/^\//, '').split('/');
  return { namespace: parts[0]!, path: parts.slice(1).join('/') };
}

/**
 * Validates the PUT body's `components` and qualifies them: `_` (and a missing namespace, e.g. "pkg/a" or "a") becomes
 * the caller's namespace. Returns "/ns/[pkg/]name" strings.
 */
export function parseComponents(raw: unknown, callerNamespace: string): string[] {
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) throw badRequest(SequenceMessages.noComponent);
  if (!Array.isArray(raw)) throw badRequest(Messages.malformedBody("exec 'components' must be an array of action names"));
  return raw.map((c) => {
    if (typeof c !== 'string') throw badRequest(Messages.malformedBody("exec 'components' must be an array of action names"));
    const bad = () => badRequest(Messages.malformedBody(`Name '${c}' is not a valid entity name.`));
    let parts: string[];
    if (c.startsWith('/')) {
      parts = c.slice(1).split('/');
      if (parts.length < 2 || parts.length > 3) throw bad();
    } else {
      // Relative names ("a", "pkg/a") are in the caller's namespace, as wsk does.
      const rel = c.split('/');
      if (rel.length > 2) throw bad();
      parts = [callerNamespace, ...rel];
    }
    if (parts[0] === '_') parts[0] = callerNamespace;
    if (!parts.every(isValidName)) throw bad();
    return `/${parts.join('/')}`;
  });
}

/**
 * PUT-time checks, in OpenWhisk's order per component: self reference (also through nested sequences), existence,
 * then the total number of atomic actions (nested sequences counted by their atomic actions).
 */
export async function checkSequence(store: Store, identity: Identity, self: string, components: string[], maxLength: number): Promise<void> {
  const seen = new Map<string, number>(); // atomic-action count per sequence already walked
  const count = async (list: string[], depth: number): Promise<number> => {
    let n = 0;
    for (const c of list) {
      if (c === self) throw badRequest(SequenceMessages.selfReference);
      const r = await lookup(store, identity, c);
      if (!r) throw badRequest(SequenceMessages.componentMissing);
      const fq = `/${r.ownerNamespace}/${r.actionName}`;
      if (fq === self) throw badRequest(SequenceMessages.selfReference);
      if (isSequence(r.doc.exec)) {
        let inner = seen.get(fq);
        if (inner === undefined) {
          // A cycle that does not pass through `self` was refused when it was created; the depth guard is for safety.
          if (depth > maxLength) throw badRequest(SequenceMessages.tooLong);
          inner = await count(r.doc.exec.components, depth + 1);
          seen.set(fq, inner);
        }
        n += inner;
      } else n += 1;
      if (n > maxLength) throw badRequest(SequenceMessages.tooLong);
    }
    return n;
  };
  await count(components, 0);
}

/** Resolves a component for the identity; undefined when it does not exist. A 403 (not shared) is passed on. */
export async function lookup(store: Store, identity: Identity, component: string): Promise<ResolvedAction | undefined> {
  const { namespace, path } = splitComponent(component);
  try {
    return await resolveAction(store, identity, namespace, path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** The minimal identity resolveAction needs, rebuilt for work claimed from the queue. */
export function queueIdentity(namespace: string, subject: string): Identity {
  return { namespace, subject, uuid: '', authKey: '', limits: { invocationsPerMinute: 0, concurrentInvocations: 0, firesPerMinute: 0, maxMemoryMb: Infinity, maxTimeoutMs: Infinity, storeActivations: true } };
}

/** The sequence's own parameters: only the hidden `_actions` (§5.1). */
export function sequenceParameters(components: string[]): ActionDoc['parameters'] {
  return [{ key: '_actions', value: components }];
}
