// Logs tab: activations in flight (live elapsed time; expanded: live logs, progress, Cancel) above the finished records,
// newest first, filtered by function, period and status, paged by the API's cursors, with expandable full records.
import { Fragment } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError, get, qs, request,
  type ActionSummary, type ActivationRecord, type ActivationSummary, type PackageSummary,
} from './api';
import { ErrorNote, StatusBadge } from './dialog';
import { actionFullName, duration, isCold, localTime, recordFunction } from './format';
import { linkTo } from './router';
import { InFlightView, type InFlightItem } from './in-flight-view';

const PAGE = 20;
/** In-flight activations shown above page 1 (the newest first). */
const IN_FLIGHT_MAX = 50;
/** `statusCode=` values of the Status filter. */
const STATUSES: Record<string, string> = {
  '': 'All statuses',
  '0': 'Success',
  '1,2,3': 'Any error',
  '1': 'Application error',
  '2': 'Developer error',
  '3': 'Internal error',
};
const POLL_MS = 2000;
const PERIODS: Record<string, { label: string; ms?: number }> = {
  '1h': { label: 'Last hour', ms: 3_600_000 },
  '24h': { label: 'Last 24 hours', ms: 86_400_000 },
  '3d': { label: 'Last 3 days', ms: 3 * 86_400_000 },
  custom: { label: 'Custom…' },
};

/** Value of a datetime-local input for a time, in local time. */
function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

type Expanded =
  | { state: 'live' }
  | { state: 'loading' }
  | { state: 'ok'; record: ActivationRecord }
  | { state: 'error'; error: string };

export function Logs(props: { initialFunction?: string }) {
  const [fn, setFn] = useState(props.initialFunction ?? '');
  const [period, setPeriod] = useState('24h');
  const [from, setFrom] = useState(() => toLocalInput(Date.now() - 3_600_000));
  const [to, setTo] = useState(() => toLocalInput(Date.now() + 60_000));
  const [status, setStatus] = useState('');
  const [page, setPage] = useState(0);
  /** cursors[n]: the API cursor of page n (page 0 has none); learnt from each page's Flare-Next-Cursor. */
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [live, setLive] = useState(true);
  const [rows, setRows] = useState<ActivationSummary[] | null>(null);
  const [inFlight, setInFlight] = useState<InFlightItem[]>([]);
  const [now, setNow] = useState(() => Date.now());
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [expanded, setExpanded] = useState<Record<string, Expanded>>({});
  const [choices, setChoices] = useState<{ packages: string[]; functions: string[] }>({ packages: [], functions: [] });
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const seq = useRef(0);

  useEffect(() => {
    void (async () => {
      try {
        const [acts, pkgs] = await Promise.all([
          get<ActionSummary[]>('/api/v1/namespaces/_/actions?limit=200'),
          get<PackageSummary[]>('/api/v1/namespaces/_/packages?limit=200'),
        ]);
        setChoices({
          functions: acts.map(actionFullName).sort(),
          packages: pkgs.map((p) => p.name).sort(),
        });
      } catch {
        /* the filter still works with whatever the URL asked for */
      }
    })();
  }, []);

  const range = (): { since?: number; upto?: number } | string => {
    if (period !== 'custom') return { since: Date.now() - PERIODS[period]!.ms! };
    const s = from ? new Date(from).getTime() : undefined;
    const u = to ? new Date(to).getTime() : undefined;
    if ((s !== undefined && Number.isNaN(s)) || (u !== undefined && Number.isNaN(u))) return 'Enter valid dates.';
    if (s !== undefined && u !== undefined && s > u) return 'The "From" time must be before the "To" time.';
    return { since: s, upto: u };
  };

  const load = async () => {
    const r = range();
    if (typeof r === 'string') {
      setError(r);
      setRows([]);
      setInFlight([]);
      return;
    }
    const mine = ++seq.current;
    const base = '/api/v1/namespaces/_/activations';
    const filter = { name: fn, since: r.since, upto: r.upto };
    try {
      // In flight first, finished second: an activation finishing in between shows in both and is kept as finished.
      const running =
        page === 0 && status === ''
          ? await get<InFlightItem[]>(`${base}${qs({ ...filter, state: 'queued,running', limit: IN_FLIGHT_MAX })}`)
          : [];
      const { body: list, headers } = await request<ActivationSummary[]>(
        `${base}${qs({ ...filter, limit: PAGE, cursor: cursors[page], statusCode: status })}`,
      );
      if (mine !== seq.current) return; // a newer request (filter change) superseded this one
      const next = headers?.get('flare-next-cursor') ?? undefined;
      const finished = new Set(list.map((x) => x.activationId));
      setInFlight(running.filter((x) => !finished.has(x.activationId)));
      setRows(list);
      setHasMore(Boolean(next));
      setCursors((c) => {
        const out = c.slice(0, page + 1);
        if (next) out[page + 1] = next;
        return out;
      });
      setError(null);
      setUpdatedAt(Date.now());
      setNow(Date.now());
    } catch (err) {
      if (mine === seq.current) setError((err as Error).message);
    }
  };
  // Stable for the live views of expanded rows (they call it when their activation ends).
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(() => void loadRef.current(), []);

  useEffect(() => {
    void load();
    // Only the newest page follows new records; older pages stay put while someone reads them.
    if (!live || page > 0) return;
    const t = setInterval(() => {
      if (document.visibilityState !== 'hidden') void load();
    }, POLL_MS);
    return () => clearInterval(t);
  }, [fn, period, from, to, page, live, status]);

  // The elapsed time of in-flight rows ticks every second.
  useEffect(() => {
    if (!inFlight.length) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [inFlight.length > 0]);

  const loadRecord = async (id: string) => {
    setExpanded((e) => ({ ...e, [id]: { state: 'loading' } }));
    try {
      const { body } = await request<ActivationRecord>(`/api/v1/namespaces/_/activations/${id}`);
      setExpanded((e) => (e[id] ? { ...e, [id]: { state: 'ok', record: body } } : e));
    } catch (err) {
      const msg = err instanceof ApiError ? err.message : String(err);
      setExpanded((e) => (e[id] ? { ...e, [id]: { state: 'error', error: msg } } : e));
    }
  };

  // A live row whose activation finished turns into its record.
  useEffect(() => {
    for (const r of rows ?? []) if (expanded[r.activationId]?.state === 'live') void loadRecord(r.activationId);
  }, [rows]);

  const toggle = async (id: string, inFlightRow: boolean) => {
    if (expanded[id]) {
      const next = { ...expanded };
      delete next[id];
      setExpanded(next);
      return;
    }
    if (inFlightRow) setExpanded((e) => ({ ...e, [id]: { state: 'live' } }));
    else await loadRecord(id);
  };

  const setFilter = (f: () => void) => {
    f();
    setPage(0);
    setCursors([undefined]);
    setRows(null);
    setInFlight([]);
  };

  return (
    <section aria-labelledby="logs-title">
      <div class="section-head">
        <h1 id="logs-title">Logs</h1>
        <label class="live">
          <input type="checkbox" checked={live} onChange={(e) => setLive((e.target as HTMLInputElement).checked)} />
          <span class={live ? 'live-dot on' : 'live-dot'} aria-hidden="true" />
          Live
        </label>
      </div>
      <div class="filters">
        <div class="field">
          <label for="filter-function">Function</label>
          <select id="filter-function" value={fn} onChange={(e) => setFilter(() => setFn((e.target as HTMLSelectElement).value))}>
            <option value="">All functions</option>
            {choices.packages.length > 0 && (
              <optgroup label="Packages">
                {choices.packages.map((p) => (
                  <option key={`p:${p}`} value={p}>
                    {p}/ (package)
                  </option>
                ))}
              </optgroup>
            )}
            <optgroup label="Functions">
              {[...new Set([...choices.functions, ...(fn && !choices.packages.includes(fn) ? [fn] : [])])].map((f) => (
                <option key={`f:${f}`} value={f}>
                  {f}
                </option>
              ))}
            </optgroup>
          </select>
        </div>
        <div class="field">
          <label for="filter-period">Period</label>
          <select id="filter-period" value={period} onChange={(e) => setFilter(() => setPeriod((e.target as HTMLSelectElement).value))}>
            {Object.entries(PERIODS).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={status} onChange={(e) => setFilter(() => setStatus((e.target as HTMLSelectElement).value))}>
            {Object.entries(STATUSES).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
        {period === 'custom' && (
          <>
            <div class="field">
              <label for="filter-from">From</label>
              <input id="filter-from" type="datetime-local" value={from} onChange={(e) => setFilter(() => setFrom((e.target as HTMLInputElement).value))} />
            </div>
            <div class="field">
              <label for="filter-to">To</label>
              <input id="filter-to" type="datetime-local" value={to} onChange={(e) => setFilter(() => setTo((e.target as HTMLInputElement).value))} />
            </div>
          </>
        )}
      </div>
      <ErrorNote error={error} />
      {rows === null && !error && <p class="muted">Loading…</p>}
      {rows && rows.length === 0 && inFlight.length === 0 && !error && (
        <p class="empty">{page > 0 ? 'No older activations.' : 'No activations in this period.'}</p>
      )}
      {rows && rows.length + inFlight.length > 0 && (
        <div class="table-wrap">
          <table class="grid logs" aria-label="Activations">
            <thead>
              <tr>
                <th scope="col"><span class="sr-only">Expand</span></th>
                <th scope="col">Time</th>
                <th scope="col">Function</th>
                <th scope="col">Status</th>
                <th scope="col">Duration</th>
                <th scope="col">Cold/warm</th>
                <th scope="col">Activation ID</th>
              </tr>
            </thead>
            <tbody>
              {inFlight.map((r) => {
                const x = expanded[r.activationId];
                const since = r.start ?? r.queuedAt;
                return (
                  <Fragment key={r.activationId}>
                    <tr data-activation={r.activationId} data-state={r.state} class={x ? 'open in-flight' : 'in-flight'}>
                      <td class="c-x">
                        <button
                          type="button"
                          class="expand"
                          aria-expanded={x ? 'true' : 'false'}
                          aria-controls={`rec-${r.activationId}`}
                          aria-label={`${x ? 'Collapse' : 'Expand'} record ${r.activationId}`}
                          onClick={() => void toggle(r.activationId, true)}
                        >
                          {x ? '[−]' : '[+]'}
                        </button>
                      </td>
                      <td class="c-time">
                        <time dateTime={new Date(since).toISOString()}>{localTime(since)}</time>
                      </td>
                      <td class="c-fn">
                        <a {...linkTo(`functions/${r.name}`)}>{r.name}</a>
                      </td>
                      <td class="c-status">
                        <StatusBadge code={-1} label={r.state} cls={r.state === 'queued' ? 'queued' : 'run'} />
                      </td>
                      <td class="num c-dur elapsed" title={r.start ? 'running for' : 'queued for'}>
                        {duration(Math.max(0, now - since))}
                      </td>
                      <td class="c-start">–</td>
                      <td class="c-id">
                        <code class="id">{r.activationId}</code>
                      </td>
                    </tr>
                    {x && (
                      <tr class="record-row">
                        <td colSpan={7} id={`rec-${r.activationId}`}>
                          <InFlightView item={r} onFinished={reload} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
              {rows.map((r) => {
                const x = expanded[r.activationId];
                return (
                  <Fragment key={r.activationId}>
                    <tr data-activation={r.activationId} class={x ? 'open' : undefined}>
                      <td class="c-x">
                        <button
                          type="button"
                          class="expand"
                          aria-expanded={x ? 'true' : 'false'}
                          aria-controls={`rec-${r.activationId}`}
                          aria-label={`${x ? 'Collapse' : 'Expand'} record ${r.activationId}`}
                          onClick={() => void toggle(r.activationId, false)}
                        >
                          {x ? '[−]' : '[+]'}
                        </button>
                      </td>
                      <td class="c-time">
                        <time dateTime={new Date(r.start).toISOString()}>{localTime(r.start)}</time>
                      </td>
                      <td class="c-fn">
                        <a {...linkTo(`functions/${recordFunction(r)}`)}>{recordFunction(r)}</a>
                      </td>
                      <td class="c-status">
                        <StatusBadge code={r.statusCode} />
                      </td>
                      <td class="num c-dur">{duration(r.duration)}</td>
                      <td class="c-start">{isCold(r) ? 'cold' : 'warm'}</td>
                      <td class="c-id">
                        <code class="id">{r.activationId}</code>
                      </td>
                    </tr>
                    {x && (
                      <tr class="record-row">
                        <td colSpan={7} id={`rec-${r.activationId}`}>
                          {(x.state === 'loading' || x.state === 'live') && <p class="muted">Loading record…</p>}
                          {x.state === 'error' && <ErrorNote error={x.error} />}
                          {x.state === 'ok' && <pre class="json record">{JSON.stringify(x.record, null, 2)}</pre>}
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          ← Newer
        </button>
        <span aria-live="polite">Page {page + 1}</span>
        <button type="button" disabled={!hasMore || !cursors[page + 1]} onClick={() => setPage(page + 1)}>
          Older →
        </button>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
        {updatedAt && (
          <span class="muted small">
            Updated {localTime(updatedAt)}
            {live && page > 0 ? ' · live updates follow page 1 only' : ''}
          </span>
        )}
      </nav>
    </section>
  );
}
