// Finds the action an invoke or GET names, following package bindings, and merges default parameters
// (package, binding, action; §3): the payload is merged on top by the caller.
import type { EntityReader } from '../entity-cache/entity-cache.js';
import type { ActionDoc, Identity, KeyValue, PackageDoc } from '../types.js';
import { ApiError, Messages, notFound } from './errors.js';
import { splitActionPath } from './entity-names.js';
import { annotation } from './action-doc.js';

export interface ResolvedAction {
  /** Namespace that owns the action (the bound package's namespace for a binding). */
  ownerNamespace: string;
  /** "pkg/name" or "name" in the owner namespace. */
  actionName: string;
  doc: ActionDoc;
  /** Default run parameters (init parameters excluded), package < binding < action. */
  defaults: Record<string, unknown>;
  /** Keys that may not be overridden at invoke time (`final` annotation), if any. */
  finalKeys?: Set<string>;
  /** "ns/bindingName" when invoked through a binding. */
  binding?: string;
}

/** `_` → the caller's namespace; another namespace → 403 unless `allowShared` finds a published package. */
export function resolveNamespace(ns: string, identity: Identity): string {
  return ns === '_' ? identity.namespace : ns;
}

export function forbidden(fq: string): ApiError {
  return new ApiError(403, Messages.notAuthorized(fq));
}

function addParams(into: Record<string, unknown>, params: KeyValue[] | undefined): void {
  for (const p of params ?? []) if (!p.init) into[p.key] = p.value;
}

/**
 * With `withCode`, `doc.exec.code` is filled in (GET of an action); invokes never read code here. `store` is the API's
 * EntityCache on the invoke paths: the docs returned are shared, never to be modified.
 */
export async function resolveAction(store: EntityReader, identity: Identity, nsParam: string, path: string, withCode = false): Promise<ResolvedAction> {
  const ns = resolveNamespace(nsParam, identity);
  const { pkg, name } = splitActionPath(path);
  const defaults: Record<string, unknown> = {};
  let ownerNamespace = ns;
  let pkgName = pkg;
  let binding: string | undefined;
  let finalKeys: Set<string> | undefined;
  let pkgDoc: PackageDoc | undefined;
  let bindingDoc: PackageDoc | undefined;
  if (pkg) {
    const p = await store.getEntity<PackageDoc>(ns, 'package', pkg, false);
    if (!p) {
      if (ns !== identity.namespace) throw forbidden(`${ns}/${pkg}/${name}`);
      throw notFound();
    }
    if (ns !== identity.namespace && !p.doc.publish) throw forbidden(`${ns}/${pkg}/${name}`);
    if ('name' in p.doc.binding && p.doc.binding.name) {
      bindingDoc = p.doc;
      binding = `${ns}/${pkg}`;
      ownerNamespace = p.doc.binding.namespace;
      pkgName = p.doc.binding.name;
      const bound = await store.getEntity<PackageDoc>(ownerNamespace, 'package', pkgName, false);
      if (!bound) throw notFound();
      pkgDoc = bound.doc;
    } else {
      pkgDoc = p.doc;
    }
  } else if (ns !== identity.namespace) {
    throw forbidden(`${ns}/${name}`);
  }
  const actionName = pkgName ? `${pkgName}/${name}` : name;
  const found = await store.getEntity<ActionDoc>(ownerNamespace, 'action', actionName, withCode);
  if (!found) throw notFound();
  const doc = found.doc;
  addParams(defaults, pkgDoc?.parameters);
  addParams(defaults, bindingDoc?.parameters);
  addParams(defaults, doc.parameters);
  if (annotation(doc.annotations, 'final') === true || annotation(pkgDoc?.annotations, 'final') === true) {
    // A null default counts as undefined (OpenWhisk): the request may still set it.
    finalKeys = new Set(Object.entries(defaults).filter(([, v]) => v !== null).map(([k]) => k));
  }
  return { ownerNamespace, actionName, doc, defaults, ...(finalKeys ? { finalKeys } : {}), ...(binding ? { binding } : {}) };
}
