// Settings tab: limits, environment variables (init parameters), web access, and the REST URL with curl commands.
import { useState } from 'preact/hooks';
import { actionPath, basicToken, request, type Action, type KeyValue, type ServerInfo } from './api';
import { ErrorNote } from './dialog';
import { annotation } from './format';
import { runtimeKinds, starterCode } from './overview';
import { navigate } from './router';

const MB = 1024 * 1024;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function randomSecret(): string {
  const a = new Uint8Array(16);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Parses `.env` text (KEY=value, # comments, optional quotes). */
function parseEnv(text: string): { vars: [string, string][]; error?: string } {
  const vars: [string, string][] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 1) return { vars, error: `Line ${i + 1}: expected KEY=value.` };
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    vars.push([line.slice(0, eq).trim(), value]);
  }
  return { vars };
}

export function Settings(props: {
  action: Action; name: string; namespace: string; info: ServerInfo | null; authKey: string; onSaved: (a: Action) => void;
}) {
  const a = props.action;
  const lim = props.info?.limits ?? {};
  const minT = lim.min_action_duration ?? 100;
  const maxT = lim.max_action_duration ?? 900_000;
  const minM = Math.round((lim.min_action_memory ?? 128 * MB) / MB);
  const maxM = Math.round((lim.max_action_memory ?? 1024 * MB) / MB);

  const kinds = runtimeKinds(props.info);
  const [kind, setKind] = useState(a.exec.kind);
  const family = (k: string) => k.split(':')[0];
  const switchesLanguage = family(kind) !== family(a.exec.kind);
  const [timeout, setTimeoutMs] = useState(String(a.limits.timeout));
  const [memory, setMemory] = useState(String(a.limits.memory));
  const [env, setEnv] = useState<[string, string][]>(() =>
    a.parameters.filter((p) => p.init).map((p) => [p.key, typeof p.value === 'string' ? p.value : JSON.stringify(p.value)]),
  );
  const [rawMode, setRawMode] = useState(false);
  const [rawText, setRawText] = useState('');
  const [web, setWeb] = useState(annotation(a.annotations, 'web-export') === true);
  const [raw, setRaw] = useState(annotation(a.annotations, 'raw-http') === true);
  const rwa = annotation(a.annotations, 'require-whisk-auth');
  const [secure, setSecure] = useState(rwa !== undefined && rwa !== false);
  const [secret, setSecret] = useState(typeof rwa === 'string' || typeof rwa === 'number' ? String(rwa) : '');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const openRaw = () => {
    setRawText(env.map(([k, v]) => `${k}=${v}`).join('\n'));
    setRawMode(true);
  };
  const closeRaw = () => {
    const r = parseEnv(rawText);
    if (r.error) return setError(r.error);
    setEnv(r.vars);
    setRawMode(false);
    setError(null);
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(null);
    const t = Number(timeout);
    const m = Number(memory);
    if (!Number.isInteger(t) || t < minT || t > maxT) return setError(`Timeout must be a whole number from ${minT} to ${maxT} ms.`);
    if (!Number.isInteger(m) || m < minM || m > maxM) return setError(`Memory must be a whole number from ${minM} to ${maxM} MB.`);
    let vars = env;
    if (rawMode) {
      const r = parseEnv(rawText);
      if (r.error) return setError(r.error);
      vars = r.vars;
    }
    const keys = new Set<string>();
    for (const [k] of vars) {
      if (!ENV_KEY.test(k)) return setError(`"${k}" is not a valid environment variable name.`);
      if (keys.has(k)) return setError(`"${k}" is defined twice.`);
      keys.add(k);
    }
    if (secure && !secret.trim()) return setError('A secure web function needs a secret.');
    const parameters: KeyValue[] = [
      ...a.parameters.filter((p) => !p.init && !keys.has(p.key)),
      ...vars.map(([key, value]) => ({ key, value, init: true })),
    ];
    // Annotations merge on update, so switched-off flags are sent as false rather than left out.
    const annotations: KeyValue[] = [
      { key: 'web-export', value: web },
      { key: 'raw-http', value: web && raw },
      { key: 'final', value: web },
      { key: 'require-whisk-auth', value: web && secure ? secret.trim() : false },
    ];
    // Another version of the same language keeps the code; another language starts from its sample.
    const exec = kind === a.exec.kind ? a.exec : switchesLanguage ? { kind, code: starterCode(kind) } : { ...a.exec, kind };
    setBusy(true);
    try {
      const { body } = await request<Action>(`${actionPath(props.name)}?overwrite=true`, {
        method: 'PUT',
        json: { exec, parameters, annotations, limits: { ...a.limits, timeout: t, memory: m } },
      });
      props.onSaved(body);
      setError(null);
      setSaved(`Saved version ${body.version}.`);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="settings">
      <form class="form wide" onSubmit={save} noValidate>
        <fieldset>
          <legend>Runtime</legend>
          <div class="field">
            <label for="set-runtime">Runtime</label>
            <select id="set-runtime" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
              {[...new Set([a.exec.kind, ...kinds])].map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </div>
          {switchesLanguage && (
            <p class="notice small">Switching the language replaces the code with a {family(kind)} sample when you save.</p>
          )}
        </fieldset>
        <fieldset>
          <legend>Limits</legend>
          <div class="row">
            <div class="field">
              <label for="set-timeout">Timeout (ms)</label>
              <input id="set-timeout" type="number" min={minT} max={maxT} step={1} value={timeout} onInput={(e) => setTimeoutMs((e.target as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="set-memory">Memory (MB)</label>
              <input id="set-memory" type="number" min={minM} max={maxM} step={1} value={memory} onInput={(e) => setMemory((e.target as HTMLInputElement).value)} />
            </div>
          </div>
        </fieldset>
        <fieldset>
          <legend>Environment variables</legend>
          {rawMode ? (
            <>
              <label for="env-raw">.env text</label>
              <textarea id="env-raw" class="code" rows={6} spellcheck={false} value={rawText} onInput={(e) => setRawText((e.target as HTMLTextAreaElement).value)} />
              <button type="button" onClick={closeRaw}>
                Back to the form
              </button>
            </>
          ) : (
            <>
              {env.length === 0 && <p class="muted small">No environment variables.</p>}
              {env.map(([k, v], i) => (
                <div class="row env" key={i}>
                  <input aria-label={`Variable ${i + 1} name`} placeholder="NAME" value={k} onInput={(e) => setEnv(env.map((p, j) => (j === i ? [(e.target as HTMLInputElement).value, p[1]] : p)))} />
                  <input aria-label={`Variable ${i + 1} value`} placeholder="value" value={v} onInput={(e) => setEnv(env.map((p, j) => (j === i ? [p[0], (e.target as HTMLInputElement).value] : p)))} />
                  <button type="button" aria-label={`Remove variable ${k || i + 1}`} onClick={() => setEnv(env.filter((_, j) => j !== i))}>
                    Remove
                  </button>
                </div>
              ))}
              <div class="row">
                <button type="button" onClick={() => setEnv([...env, ['', '']])}>
                  Add variable
                </button>
                <button type="button" onClick={openRaw}>
                  Raw editor
                </button>
              </div>
            </>
          )}
        </fieldset>
        <fieldset>
          <legend>Access &amp; security</legend>
          <label class="check">
            <input type="checkbox" checked={web} onChange={(e) => setWeb((e.target as HTMLInputElement).checked)} /> Web function
          </label>
          <label class="check">
            <input type="checkbox" checked={raw} disabled={!web} onChange={(e) => setRaw((e.target as HTMLInputElement).checked)} /> Raw HTTP
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={secure}
              disabled={!web}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                setSecure(on);
                if (on && !secret) setSecret(randomSecret());
              }}
            />{' '}
            Secure web function
          </label>
          {web && secure && (
            <div class="field">
              <label for="set-secret">Secret (send it as the X-Require-Whisk-Auth header)</label>
              <input id="set-secret" value={secret} spellcheck={false} onInput={(e) => setSecret((e.target as HTMLInputElement).value)} />
            </div>
          )}
        </fieldset>
        <ErrorNote error={error} />
        <div class="actions left">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save settings'}
          </button>
          {saved && <span class="ok-text small" role="status">{saved}</span>}
        </div>
      </form>
      <Access action={a} name={props.name} namespace={props.namespace} authKey={props.authKey} />
      <Destroy name={props.name} />
    </div>
  );
}

/** Deleting needs the function's name typed in, as in DigitalOcean's control panel. */
function Destroy(props: { name: string }) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);
  const destroy = async (e: Event) => {
    e.preventDefault();
    if (typed !== props.name) return;
    try {
      await request(actionPath(props.name), { method: 'DELETE' });
      navigate('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form class="form wide destroy" onSubmit={destroy}>
      <fieldset>
        <legend>Destroy</legend>
        <label for="destroy-name">
          Type <strong>{props.name}</strong> to delete this function. Its activation records stay until they expire.
        </label>
        <input id="destroy-name" value={typed} spellcheck={false} autocomplete="off" onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
        <ErrorNote error={error} />
        <div>
          <button type="submit" class="danger" disabled={typed !== props.name}>
            Destroy function
          </button>
        </div>
      </fieldset>
    </form>
  );
}

function Access(props: { action: Action; name: string; namespace: string; authKey: string }) {
  const [shown, setShown] = useState(false);
  const [copied, setCopied] = useState<string | null>(null);
  const origin = window.location.origin;
  const ns = encodeURIComponent(props.namespace);
  const parts = props.name.split('/').map(encodeURIComponent);
  const restUrl = `${origin}/api/v1/namespaces/${ns}/actions/${parts.join('/')}`;
  const webUrl = `${origin}/api/v1/web/${ns}/${parts.length > 1 ? parts.join('/') : `default/${parts[0]}`}`;
  const isWeb = annotation(props.action.annotations, 'web-export') === true;
  const secret = annotation(props.action.annotations, 'require-whisk-auth');
  const webSecret = isWeb && (typeof secret === 'string' || typeof secret === 'number') ? String(secret) : null;
  const token = basicToken(props.authKey);
  const curl = (blocking: boolean, tok: string) =>
    `curl -X POST "${restUrl}?${blocking ? 'blocking=true&result=true' : 'blocking=false'}" \\\n` +
    `  -H "Content-Type: application/json" \\\n` +
    `  -H "Authorization: Basic ${tok}"`;
  const masked = '•'.repeat(12);

  const copy = async (label: string, text: string) => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API refused (e.g. plain http on a non-local host): fall back to a hidden textarea.
      const t = document.createElement('textarea');
      t.value = text;
      document.body.appendChild(t);
      t.select();
      document.execCommand('copy');
      t.remove();
    }
    setCopied(label);
  };

  return (
    <div class="access">
      <h2>REST API</h2>
      {isWeb && (
        <p>
          Web URL: <a href={webUrl}>{webUrl}</a>
        </p>
      )}
      {webSecret && (
        <pre class="curl-web">{`curl "${webUrl}" \
  -H "X-Require-Whisk-Auth: ${webSecret}"`}</pre>
      )}
      <p>
        REST API URL: <code class="url rest-url">{restUrl}</code>
      </p>
      <p>
        <button type="button" class="link" aria-pressed={shown} onClick={() => setShown(!shown)}>
          {shown ? 'Hide Token' : 'Show Token'}
        </button>
      </p>
      {[
        ['Blocking invocation', true],
        ['Non-blocking invocation', false],
      ].map(([label, blocking]) => (
        <div class="curl" key={String(label)}>
          <div class="curl-head">
            <h3>{label}</h3>
            <button type="button" onClick={() => void copy(String(label), curl(Boolean(blocking), token))}>
              {copied === label ? 'Copied' : 'Copy'}
            </button>
          </div>
          <pre class={blocking ? 'curl-blocking' : 'curl-async'}>{curl(Boolean(blocking), shown ? token : masked)}</pre>
        </div>
      ))}
    </div>
  );
}
