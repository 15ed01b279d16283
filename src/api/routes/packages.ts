// Packages (§2.3): create/update (including bindings), get with its actions, delete (force), list.
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../server.js';
import type { ActionDoc, PackageDoc } from '../../types.js';
import { ApiError, Messages, badRequest, notFound } from '../errors.js';
import { parseBool, parseListParams } from '../list-params.js';
import { checkName } from '../entity-names.js';
import { bumpPatch, mergeAnnotations, parseKeyValues, setAnnotation } from '../action-doc.js';
import { ownNamespace } from './namespace-access.js';

type Req = { Params: { namespace: string; name: string }; Querystring: Record<string, string | undefined> };

const isBinding = (p: PackageDoc) => 'name' in p.binding && !!p.binding.name;

export async function packageRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store, config } = ctx;

  app.get<Req>('/api/v1/namespaces/:namespace/packages', async (req) => {
    const ns = ownNamespace(req, req.params.namespace);
    const p = parseListParams(req.query, 'packages');
    if (p.count) return { packages: await store.countEntities({ namespace: ns, kind: 'package' }) };
    const docs = await store.listEntities<PackageDoc>({ namespace: ns, kind: 'package', limit: p.limit, skip: p.skip });
    return docs.map((d) => ({
      namespace: d.namespace,
      name: d.name,
      version: d.version,
      publish: d.publish,
      annotations: d.annotations,
      updated: d.updated,
      binding: isBinding(d) ? d.binding : false,
    }));
  });

  app.get<Req>('/api/v1/namespaces/:namespace/packages/:name', async (req) => {
    const ns = req.params.namespace === '_' ? req.identity.namespace : req.params.namespace;
    const found = await store.getEntity<PackageDoc>(ns, 'package', req.params.name, false);
    if (!found) {
      if (ns !== req.identity.namespace) throw new ApiError(403, Messages.notAuthorized(`${ns}/${req.params.name}`));
      throw notFound();
    }
    if (ns !== req.identity.namespace && !found.doc.publish) {
      throw new ApiError(403, Messages.notAuthorized(`${ns}/${req.params.name}`));
    }
    let doc = found.doc;
    let source = { ns, name: req.params.name };
    if (isBinding(doc)) {
      const b = doc.binding as { namespace: string; name: string };
      const bound = await store.getEntity<PackageDoc>(b.namespace, 'package', b.name, false);
      if (bound) {
        const params = new Map(bound.doc.parameters.map((p) => [p.key, p]));
        for (const p of doc.parameters) params.set(p.key, p);
        doc = { ...doc, parameters: [...params.values()] };
        source = { ns: b.namespace, name: b.name };
      }
    }
    const actions = await store.listEntities<ActionDoc>({ namespace: source.ns, kind: 'action', pkg: source.name, limit: 10_000, skip: 0 });
    return {
      ...doc,
      actions: actions.map((a) => ({ name: a.name, version: a.version, annotations: a.annotations })),
      feeds: actions.filter((a) => a.annotations.some((x) => x.key === 'feed')).map((a) => ({ name: a.name, version: a.version, annotations: a.annotations })),
    };
  });

  app.put<Req>('/api/v1/namespaces/:namespace/packages/:name', async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const name = checkName(req.params.name);
    if (name === 'default') throw badRequest("Package name 'default' is reserved.");
    const overwrite = parseBool(req.query.overwrite, 'overwrite');
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw badRequest(Messages.malformedBody('Object expected.'));
    const existing = await store.getEntity<PackageDoc>(ns, 'package', name, false);
    if (existing && !overwrite) throw new ApiError(409, Messages.exists);
    let binding: PackageDoc['binding'] = existing?.doc.binding ?? {};
    if (body.binding !== undefined && body.binding !== null && !(typeof body.binding === 'object' && Object.keys(body.binding as object).length === 0)) {
      const b = body.binding as { namespace?: unknown; name?: unknown };
      if (typeof b.name !== 'string' || typeof b.namespace !== 'string') throw badRequest(Messages.malformedBody("'binding' must be {namespace, name}"));
      const bns = b.namespace === '_' ? req.identity.namespace : b.namespace;
      if (existing && !isBinding(existing.doc)) throw new ApiError(409, 'Resource is a package and cannot be converted into a binding.');
      const target = await store.getEntity<PackageDoc>(bns, 'package', b.name, false);
      if (!target) throw badRequest('Binding references a package that does not exist.');
      if (isBinding(target.doc)) throw badRequest('Cannot bind to another package binding.');
      if (bns !== req.identity.namespace && !target.doc.publish) throw new ApiError(403, Messages.notAuthorized(`${bns}/${b.name}`));
      binding = { namespace: bns, name: b.name };
    }
    let annotations = mergeAnnotations(existing?.doc.annotations ?? [], parseKeyValues(body.annotations, 'annotations', false), body.delAnnotations);
    annotations = annotations.filter((a) => a.key !== 'binding');
    if (isBinding({ binding } as PackageDoc)) annotations = setAnnotation(annotations, 'binding', binding);
    const paramsJson = body.parameters === undefined ? '' : JSON.stringify(body.parameters);
    if (paramsJson.length > config.limits.paramsMax) throw new ApiError(413, Messages.fieldTooLarge('Parameters', paramsJson.length, config.limits.paramsMax));
    const doc: PackageDoc = {
      namespace: ns,
      name,
      binding,
      parameters: parseKeyValues(body.parameters, 'parameters', true) ?? existing?.doc.parameters ?? [],
      version: typeof body.version === 'string' ? body.version : existing ? bumpPatch(existing.doc.version) : '0.0.1',
      publish: typeof body.publish === 'boolean' ? body.publish : (existing?.doc.publish ?? false),
      annotations,
      updated: Math.max(Date.now(), (existing?.updated ?? 0) + 1),
    };
    const r = await store.putEntity(ns, 'package', name, doc, undefined, { expectUpdated: existing ? existing.updated : null });
    if (r === 'conflict') throw new ApiError(409, existing ? Messages.conflict : Messages.exists);
    return doc;
  });

  app.delete<Req>('/api/v1/namespaces/:namespace/packages/:name', async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const name = req.params.name;
    const force = parseBool(req.query.force, 'force');
    const existing = await store.getEntity<PackageDoc>(ns, 'package', name, false);
    if (!existing) throw notFound();
    if (!isBinding(existing.doc)) {
      const n = await store.countEntities({ namespace: ns, kind: 'action', pkg: name });
      if (n > 0 && !force) {
        throw new ApiError(409, `Package not empty (contains ${n} ${n === 1 ? 'entity' : 'entities'}). Set force param or delete package contents.`);
      }
      if (n > 0) {
        const actions = await store.listEntities<ActionDoc>({ namespace: ns, kind: 'action', pkg: name, limit: 100_000, skip: 0 });
        for (const a of actions) await store.deleteEntity(ns, 'action', `${name}/${a.name}`);
      }
    }
    if (!(await store.deleteEntity(ns, 'package', name))) throw notFound();
    return existing.doc;
  });
}
