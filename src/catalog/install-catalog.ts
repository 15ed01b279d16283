// Installs the shared `whisk.system` namespace at startup: its packages are published (readable, invokable and
// bindable from every namespace) and its key is thrown away, so no caller can ever write to it. Idempotent and safe
// on several nodes at once: an entity is only rewritten when this Flare version ships different content.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { ActionDoc, KeyValue, PackageDoc } from '../types.js';
import type { Limits } from '../config.js';
import { hashKey } from '../api/auth.js';
import { buildActionDoc } from '../api/action-doc.js';
import type { CatalogPackage } from './catalog-actions.js';

export const SYSTEM_NAMESPACE = 'whisk.system';

export async function installCatalog(store: Store, packages: CatalogPackage[], limits: Limits): Promise<void> {
  if (!(await store.getNamespace(SYSTEM_NAMESPACE))) {
    // Nobody learns this key: whisk.system is never writable through the API.
    await store.createNamespace({ name: SYSTEM_NAMESPACE, uuid: randomUUID(), keyHash: hashKey(randomBytes(48).toString('hex')), subject: SYSTEM_NAMESPACE, created: Date.now() });
  }
  for (const p of packages) {
    const pkgDoc: PackageDoc = {
      namespace: SYSTEM_NAMESPACE,
      name: p.name,
      binding: {},
      parameters: [],
      version: '0.0.1',
      publish: true,
      annotations: [{ key: 'description', value: p.description }, ...(p.annotations ?? [])],
      updated: Date.now(),
    };
    const cur = await store.getEntity<PackageDoc>(SYSTEM_NAMESPACE, 'package', p.name, false);
    if (!cur || JSON.stringify(cur.doc.annotations) !== JSON.stringify(pkgDoc.annotations) || !cur.doc.publish) {
      await store.putEntity(SYSTEM_NAMESPACE, 'package', p.name, pkgDoc, undefined, { expectUpdated: cur ? cur.updated : null });
    }
    for (const a of p.actions) {
      const annotations: KeyValue[] = [
        { key: 'description', value: a.description },
        ...(a.parameters ? [{ key: 'parameters', value: a.parameters }] : []),
        ...(a.annotations ?? []),
      ];
      const full = `${p.name}/${a.name}`;
      const existing = await store.getEntity<ActionDoc>(SYSTEM_NAMESPACE, 'action', full, true);
      if (existing && existing.doc.exec.code === a.code && JSON.stringify(existing.doc.annotations.filter((x) => x.key !== 'exec')) === JSON.stringify(annotations)) continue;
      const { doc, code } = buildActionDoc({ exec: { kind: 'nodejs:20', code: a.code }, annotations }, `${SYSTEM_NAMESPACE}/${p.name}`, a.name, undefined, limits);
      doc.annotations = doc.annotations.filter((x) => x.key === 'exec' || annotations.some((y) => y.key === x.key));
      // A conflict means another node wrote the same content first.
      await store.putEntity(SYSTEM_NAMESPACE, 'action', full, doc, code, { expectUpdated: existing ? existing.updated : null });
    }
  }
}
