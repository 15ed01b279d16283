// Function page: source (view, edit, save), Run / Run async with parameters, and Settings (limits, environment,
// web access, REST URL and curl commands).
import { Insights } from './insights';
import { LiveLogs } from './live-logs';
import { useEffect, useState } from 'preact/hooks';
import {
  ApiError, actionPath, get, qs, request,
  type Action, type ActivationRecord, type ActivationSummary, type ServerInfo,
} from './api';
import { ErrorNote, Modal } from './dialog';
import { annotation, localTime } from './format';
import { linkTo } from './router';
import { RecordView } from './record-view';
import { Settings } from './settings';

export function FunctionPage(props: { name: string; namespace: string; info: ServerInfo | null; authKey: string }) {
  const [action, setAction] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<'source' | 'settings' | 'insights'>('source');

  const load = async () => {
    try {
      const { body } = await request<Action>(actionPath(props.name));
      setAction(body);
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 404 ? `The function "${props.name}" does not exist.` : (err as Error).message);
    }
  };
  useEffect(() => {
    setAction(null);
    void load();
  }, [props.name]);

  return (
    <section aria-labelledby="fn-title">
      <p class="crumbs">
        <a {...linkTo('')}>Functions</a> / <span>{props.name}</span>
      </p>
      <div class="section-head">
        <h1 id="fn-title">{props.name}</h1>
        <a class="button" {...linkTo(`logs?function=${encodeURIComponent(props.name)}`)}>
          View logs
        </a>
      </div>
      <ErrorNote error={error} />
      {action && (
        <>
          <p class="meta">
            <span>
              Runtime <strong>{action.exec.kind}</strong>
            </span>
            <span>
              Version <strong>{action.version}</strong>
            </span>
            <span>
              Updated <strong>{localTime(action.updated)}</strong>
            </span>
            {annotation(action.annotations, 'web-export') === true && <span class="tag">web</span>}
          </p>
          <div
            class="tabs"
            role="tablist"
            aria-label="Function sections"
            onKeyDown={(e) => {
              // Arrow keys move between tabs, as in the WAI-ARIA tabs pattern.
              if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
              const order = ['source', 'settings', 'insights'] as const;
              const next = order[(order.indexOf(tab) + (e.key === 'ArrowRight' ? 1 : order.length - 1)) % order.length]!;
              setTab(next);
              document.getElementById(`tab-${next}`)?.focus();
            }}
          >
            {(['source', 'settings', 'insights'] as const).map((t) => (
              <button
                key={t}
                type="button"
                role="tab"
                id={`tab-${t}`}
                aria-selected={tab === t}
                tabIndex={tab === t ? 0 : -1}
                aria-controls={`panel-${t}`}
                class={tab === t ? 'tab active' : 'tab'}
                onClick={() => setTab(t)}
              >
                {t === 'source' ? 'Source' : t === 'settings' ? 'Settings' : 'Insights'}
              </button>
            ))}
          </div>
          <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
            {tab === 'insights' ? (
              <Insights name={props.name} />
            ) : tab === 'source' ? (
              <Source action={action} name={props.name} onSaved={setAction} />
            ) : (
              <Settings action={action} name={props.name} namespace={props.namespace} info={props.info} authKey={props.authKey} onSaved={setAction} />
            )}
          </div>
        </>
      )}
    </section>
  );
}

type RunState =
  | { kind: 'idle' }
  | { kind: 'running'; note: string }
  | { kind: 'waiting'; id: string }
  | { kind: 'done'; record: ActivationRecord; id?: string }
  | { kind: 'error'; error: string };

function Source(props: { action: Action; name: string; onSaved: (a: Action) => void }) {
  const { action } = props;
  const [code, setCode] = useState(action.exec.code ?? '');
  const [saveMsg, setSaveMsg] = useState<string | null>(null);
  const [saveErr, setSaveErr] = useState<string | null>(null);
  const [params, setParams] = useState<Record<string, unknown>>({});
  const [paramsOpen, setParamsOpen] = useState(false);
  const [run, setRun] = useState<RunState>({ kind: 'idle' });
  const editable = !action.exec.binary && typeof action.exec.code === 'string';
  const dirty = editable && code !== action.exec.code;

  useEffect(() => setCode(action.exec.code ?? ''), [action.exec.code]);

  const save = async () => {
    setSaveErr(null);
    setSaveMsg(null);
    try {
      const exec: Record<string, unknown> = { kind: action.exec.kind, code };
      if (action.exec.main) exec.main = action.exec.main;
      const { body } = await request<Action>(`${actionPath(props.name)}?overwrite=true`, { method: 'PUT', json: { exec } });
      props.onSaved(body);
      setSaveMsg(`Saved version ${body.version}.`);
    } catch (err) {
      setSaveErr((err as Error).message);
    }
  };

  /**
   * Polls until the record exists. It watches the function's activation list (an id is listed exactly when its
   * record exists) rather than GET /activations/{id}, whose 404s would fill the browser console with errors.
   */
  const awaitRecord = async (id: string, since: number): Promise<ActivationRecord> => {
    const until = Date.now() + 20 * 60_000;
    const list = `/api/v1/namespaces/_/activations${qs({ name: props.name, since, limit: 200 })}`;
    for (let wait = 100; Date.now() < until; wait = Math.min(wait * 1.5, 2000)) {
      const rows = await get<ActivationSummary[]>(list);
      if (rows.some((r) => r.activationId === id)) return get<ActivationRecord>(`/api/v1/namespaces/_/activations/${id}`);
      await new Promise((res) => setTimeout(res, wait));
    }
    throw new Error(`No record for ${id} yet; look for it in the Logs tab.`);
  };

  /**
   * Both buttons submit a non-blocking invocation and then read the stored record. A blocking call would answer
   * with logs: [] (OpenWhisk collects logs after replying), so the record has to be fetched anyway for the Logs
   * pane, and its 502/500 answers for failing functions would land in the browser console as errors.
   */
  const invoke = async (showId: boolean) => {
    setRun({ kind: 'running', note: showId ? 'Submitting…' : 'Running…' });
    // Records are listed by start time; allow for clock skew between this browser and the server.
    const since = Date.now() - 5 * 60_000;
    try {
      const r = await request<{ activationId?: string }>(`${actionPath(props.name)}?blocking=false`, { method: 'POST', json: params });
      const id = r.body?.activationId;
      if (!id) throw new Error('The server did not return an activation id.');
      setRun(showId ? { kind: 'waiting', id } : { kind: 'running', note: 'Running…' });
      const record = await awaitRecord(id, since);
      setRun({ kind: 'done', record, id: showId ? id : undefined });
    } catch (err) {
      setRun({ kind: 'error', error: (err as Error).message });
    }
  };

  const busy = run.kind === 'running' || run.kind === 'waiting';
  const paramCount = Object.keys(params).length;
  return (
    <div class="source">
      <div class="toolbar">
        <button type="button" class="run" disabled={busy} onClick={() => void invoke(false)}>
          ▶ Run
        </button>
        <button type="button" disabled={busy} onClick={() => void invoke(true)}>
          Run async
        </button>
        <button type="button" onClick={() => setParamsOpen(true)}>
          Parameters{paramCount ? ` (${paramCount})` : ''}
        </button>
        {editable && (
          <button type="button" class="primary" disabled={!dirty} onClick={() => void save()}>
            Save
          </button>
        )}
        {dirty && <span class="muted small">Unsaved changes (Run uses the saved version)</span>}
        {saveMsg && !dirty && <span class="ok-text small" role="status">{saveMsg}</span>}
      </div>
      <ErrorNote error={saveErr} />
      {editable ? (
        <>
          <label for="code" class="sr-only">
            Source code
          </label>
          <textarea
            id="code"
            class="code"
            spellcheck={false}
            value={code}
            rows={Math.min(30, Math.max(10, code.split('\n').length + 1))}
            onInput={(e) => setCode((e.target as HTMLTextAreaElement).value)}
            onKeyDown={(e) => {
              // Tab inserts two spaces; Escape first leaves the editor so keyboard users are never trapped.
              if (e.key === 'Tab' && !e.shiftKey && !(e.target as HTMLElement).dataset.escaped) {
                e.preventDefault();
                const t = e.target as HTMLTextAreaElement;
                const s = t.selectionStart;
                t.setRangeText('  ', s, t.selectionEnd, 'end');
                setCode(t.value);
              } else if (e.key === 'Escape') {
                (e.target as HTMLElement).dataset.escaped = '1';
              }
            }}
            onBlur={(e) => delete (e.target as HTMLElement).dataset.escaped}
          />
          <p class="muted small">Tab indents; press Escape then Tab to leave the editor.</p>
        </>
      ) : (
        <p class="notice">Binary code cannot be displayed on the console. Deploy a new version with <code>flare deploy</code>.</p>
      )}
      <div class="output" aria-live="polite">
        {run.kind === 'running' && <p class="muted">{run.note}</p>}
        {run.kind === 'waiting' && (
          <p>
            Activation <code class="id activation-id">{run.id}</code> accepted; waiting for its record…
          </p>
        )}
        {run.kind === 'waiting' && <LiveLogs id={run.id} />}
        {run.kind === 'error' && <ErrorNote error={run.error} />}
        {run.kind === 'done' && (
          <>
            {run.id && (
              <p>
                Activation <code class="id activation-id">{run.id}</code>
              </p>
            )}
            <RecordView record={run.record} />
          </>
        )}
      </div>
      <ParamsDialog open={paramsOpen} value={params} onClose={() => setParamsOpen(false)} onSave={(p) => { setParams(p); setParamsOpen(false); }} />
    </div>
  );
}

function ParamsDialog(props: { open: boolean; value: Record<string, unknown>; onClose: () => void; onSave: (p: Record<string, unknown>) => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (props.open) {
      setText(JSON.stringify(props.value, null, 2));
      setError(null);
    }
  }, [props.open]);

  const submit = (e: Event) => {
    e.preventDefault();
    let v: unknown;
    try {
      v = text.trim() ? JSON.parse(text) : {};
    } catch (err) {
      setError(`Not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      setError('Parameters must be a JSON object, like {"name": "Sammy"}.');
      return;
    }
    props.onSave(v as Record<string, unknown>);
  };

  return (
    <Modal title="Parameters" open={props.open} onClose={props.onClose}>
      <form class="form" onSubmit={submit}>
        <label for="params-json">Parameters (JSON object)</label>
        <textarea
          id="params-json"
          autofocus
          class="code"
          rows={8}
          spellcheck={false}
          value={text}
          aria-invalid={error ? 'true' : 'false'}
          aria-describedby="params-error"
          onInput={(e) => {
            setText((e.target as HTMLTextAreaElement).value);
            setError(null);
          }}
        />
        <div id="params-error">
          <ErrorNote error={error} />
        </div>
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Apply
          </button>
        </div>
      </form>
    </Modal>
  );
}
