// Overview tab: the namespace's functions, newest first, and the "Create function" dialog.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, actionPath, get, request, type ActionSummary, type PackageSummary, type ServerInfo } from './api';
import { ErrorNote, Modal } from './dialog';
import { actionFullName, actionKind, localTime } from './format';
import { linkTo, navigate } from './router';

const NAME_RE = /^([\w]|[\w][\w@ .&-]{0,254}[\w@.&-])$/;

export function starterCode(kind: string): string {
  if (kind.startsWith('python')) {
    return [
      'def main(args):',
      "    name = args.get('name', 'stranger')",
      "    print(f'Hello {name}!')",
      "    return {'body': f'Hello {name}!'}",
      '',
    ].join('\n');
  }
  return [
    'function main(args) {',
    "  const name = args.name || 'stranger';",
    '  console.log(`Hello ${name}!`);',
    '  return { body: `Hello ${name}!` };',
    '}',
    '',
  ].join('\n');
}

export function runtimeKinds(info: ServerInfo | null): string[] {
  const kinds: string[] = [];
  for (const list of Object.values(info?.runtimes ?? {})) {
    for (const r of list) if (!r.deprecated) kinds.push(r.kind);
  }
  return kinds.length ? kinds : ['nodejs:20', 'python:3.11'];
}

export function Overview(props: { info: ServerInfo | null }) {
  const [actions, setActions] = useState<ActionSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [kinds, setKinds] = useState<Record<string, string>>({});

  const load = async () => {
    try {
      const list = await get<ActionSummary[]>('/api/v1/namespaces/_/actions?limit=200');
      const sorted = [...list].sort((a, b) => b.updated - a.updated);
      setActions(sorted);
      setError(null);
      // The `exec` annotation should name the full kind (nodejs:20); when it only names the family, read the
      // kind from the action itself (without its code), a few at a time.
      const vague = sorted.filter((a) => !actionKind(a).includes(':'));
      const found: Record<string, string> = {};
      for (let i = 0; i < vague.length; i += 6) {
        await Promise.all(
          vague.slice(i, i + 6).map(async (a) => {
            const name = actionFullName(a);
            const full = await get<{ exec: { kind: string } }>(`${actionPath(name)}?code=false`).catch(() => null);
            if (full?.exec?.kind) found[name] = full.exec.kind;
          }),
        );
      }
      if (Object.keys(found).length) setKinds((k) => ({ ...k, ...found }));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  return (
    <section aria-labelledby="overview-title">
      <div class="section-head">
        <div>
          <h1 id="overview-title">Functions</h1>
          {actions && (
            <p class="muted small count">
              {actions.length} function{actions.length === 1 ? '' : 's'}
            </p>
          )}
        </div>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          Create function
        </button>
      </div>
      <ErrorNote error={error} />
      {actions === null && !error && <p class="muted">Loading…</p>}
      {actions && actions.length === 0 && (
        <p class="empty">No functions yet. Create one, or deploy a project with <code>flare deploy</code>.</p>
      )}
      {actions && actions.length > 0 && (
        <div class="table-wrap">
          <table class="grid" aria-label="Functions">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Runtime</th>
                <th scope="col">Version</th>
                <th scope="col">Last update</th>
              </tr>
            </thead>
            <tbody>
              {actions.map((a) => {
                const name = actionFullName(a);
                return (
                  <tr key={name}>
                    <td class="c-name">
                      <a {...linkTo(`functions/${name}`)} class="fn-link">
                        {name}
                      </a>
                    </td>
                    <td class="c-kind">{kinds[name] ?? actionKind(a)}</td>
                    <td class="c-ver">{a.version}</td>
                    <td class="c-upd">
                      <time dateTime={new Date(a.updated).toISOString()}>{localTime(a.updated)}</time>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <CreateFunction open={creating} info={props.info} onClose={() => setCreating(false)} />
    </section>
  );
}

function CreateFunction(props: { open: boolean; info: ServerInfo | null; onClose: () => void }) {
  const kinds = runtimeKinds(props.info);
  const [kind, setKind] = useState(kinds[0]!);
  const [name, setName] = useState('');
  const [pkg, setPkg] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const n = name.trim();
    const p = pkg.trim();
    if (!NAME_RE.test(n)) return setError('The function name may use letters, digits, _ @ . & - and spaces inside.');
    if (p && !NAME_RE.test(p)) return setError('The package name may use letters, digits, _ @ . & - and spaces inside.');
    if (p === 'default') return setError("Package name 'default' is reserved.");
    setBusy(true);
    setError(null);
    try {
      if (p) {
        // Make the package if it is new (looked up in the list, so no 404 or 409 lands in the browser console).
        const pkgs = await get<PackageSummary[]>('/api/v1/namespaces/_/packages?limit=200');
        if (!pkgs.some((x) => x.name === p)) {
          await request(`/api/v1/namespaces/_/packages/${encodeURIComponent(p)}`, { method: 'PUT', json: {} });
        }
      }
      const full = p ? `${p}/${n}` : n;
      await request(actionPath(full), { method: 'PUT', json: { exec: { kind, code: starterCode(kind) } } });
      setName('');
      setPkg('');
      props.onClose();
      navigate(`functions/${full}`);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 409 ? 'A function with this name already exists.' : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Create function" open={props.open} onClose={props.onClose}>
      <form onSubmit={submit} class="form">
        <label for="new-runtime">Runtime</label>
        <select id="new-runtime" autofocus value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
          {kinds.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <label for="new-name">Function name</label>
        <input id="new-name" value={name} required onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <label for="new-package">Package (optional)</label>
        <input id="new-package" value={pkg} onInput={(e) => setPkg((e.target as HTMLInputElement).value)} />
        <ErrorNote error={error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
