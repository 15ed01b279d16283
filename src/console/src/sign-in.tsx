// Sign-in form: the key is checked with GET /api/v1/namespaces and kept only in sessionStorage.
import { useState } from 'preact/hooks';
import { ApiError, request, storeKey } from './api';
import { ErrorNote } from './dialog';

export function SignIn(props: { onSignedIn: (namespace: string) => void; notice?: string }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const k = key.trim();
    if (!/^[^:\s]+:\S+$/.test(k)) {
      setError('An API key looks like <uuid>:<key> (the AUTH value printed by `flare serve`).');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { body } = await request<string[]>('/api/v1/namespaces', { key: k });
      const ns = Array.isArray(body) && typeof body[0] === 'string' ? body[0] : null;
      if (!ns) throw new ApiError(500, 'The server did not return a namespace.');
      storeKey(k);
      setKey('');
      props.onSignedIn(ns);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That API key was not accepted.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="card" onSubmit={submit} method="post" action="#" autocomplete="off">
        <h1>
          <span class="logo" aria-hidden="true">◆</span> Flare console
        </h1>
        <p class="muted">Sign in with your namespace's API key.</p>
        {props.notice && <p class="notice">{props.notice}</p>}
        {/* Lets password managers file the key under a name; never shown or sent. */}
        <input type="text" name="username" autocomplete="username" value="flare-console" hidden readOnly />
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          placeholder="uuid:key"
          autocomplete="current-password"
          spellcheck={false}
          required
          autofocus
        />
        <ErrorNote error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
