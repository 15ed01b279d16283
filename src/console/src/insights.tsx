// Insights: how a namespace (or one function) behaves over time — invocations per interval by status, p50/p95
// duration, cold starts and errors — drawn with uPlot from GET …/insights (pre-aggregated counts, no records read).
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { request, ApiError } from './api';

type Period = '1h' | '24h' | '7d';

interface Counts {
  invocations: number;
  success: number;
  applicationErrors: number;
  developerErrors: number;
  internalErrors: number;
  errors: number;
  coldStarts: number;
  avgDurationMs: number | null;
  p50DurationMs: number | null;
  p95DurationMs: number | null;
}

interface InsightsReply {
  period: Period;
  intervalMs: number;
  totals: Counts;
  intervals: Array<{ start: number } & Counts>;
}

const PERIODS: Array<{ id: Period; label: string }> = [
  { id: '1h', label: '1 hour' },
  { id: '24h', label: '24 hours' },
  { id: '7d', label: '7 days' },
];

function Chart(props: { title: string; id: string; data: uPlot.AlignedData; series: uPlot.Series[]; unit?: string; bars?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(300, el.clientWidth || 600);
    const opts: uPlot.Options = {
      width,
      height: 200,
      series: [
        {},
        ...props.series.map((s) => ({
          ...s,
          ...(props.bars ? { paths: uPlot.paths.bars!({ size: [0.8, 40] }), points: { show: false } } : {}),
        })),
      ],
      axes: [{}, { label: props.unit, size: 60 }],
      scales: { x: { time: true } },
      legend: { live: true },
    };
    const plot = new uPlot(opts, props.data, el);
    const onResize = () => plot.setSize({ width: Math.max(300, el.clientWidth), height: 200 });
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      plot.destroy();
    };
  }, [props.data]);
  return (
    <figure class="chart" id={props.id}>
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-box" role="img" aria-label={props.title} />
    </figure>
  );
}

const ms = (v: number | null) => (v === null ? '–' : `${v} ms`);

/** The Insights view of the namespace (no `name`) or of one function. */
export function Insights(props: { name?: string }) {
  const [period, setPeriod] = useState<Period>('1h');
  const [data, setData] = useState<InsightsReply | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let live = true;
    setError(undefined);
    const q = new URLSearchParams({ period, ...(props.name ? { name: props.name } : {}) });
    request<InsightsReply>(`/api/v1/namespaces/_/insights?${q}`)
      .then((r) => live && setData(r.body))
      .catch((e: unknown) => live && setError(e instanceof ApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [period, props.name]);

  const xs = data ? data.intervals.map((i) => i.start / 1000) : [];
  const t = data?.totals;
  return (
    <section class="insights" aria-label={props.name ? `Insights of ${props.name}` : 'Namespace insights'}>
      <div class="period" role="group" aria-label="Period">
        {PERIODS.map((p) => (
          <button key={p.id} type="button" class={period === p.id ? 'tab active' : 'tab'} aria-pressed={period === p.id} onClick={() => setPeriod(p.id)}>
            {p.label}
          </button>
        ))}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {data && t && (
        <>
          <dl class="totals">
            <div><dt>Invocations</dt><dd data-total="invocations">{t.invocations}</dd></div>
            <div><dt>Errors</dt><dd data-total="errors">{t.errors}</dd></div>
            <div><dt>Cold starts</dt><dd data-total="coldStarts">{t.coldStarts}</dd></div>
            <div><dt>p50 duration</dt><dd data-total="p50">{ms(t.p50DurationMs)}</dd></div>
            <div><dt>p95 duration</dt><dd data-total="p95">{ms(t.p95DurationMs)}</dd></div>
          </dl>
          <Chart
            id="chart-invocations"
            title="Invocations by status"
            bars
            data={[
              xs,
              data.intervals.map((i) => i.success),
              data.intervals.map((i) => i.applicationErrors),
              data.intervals.map((i) => i.developerErrors + i.internalErrors),
            ]}
            series={[
              { label: 'success', stroke: '#2e9a5a', fill: 'rgba(46,154,90,0.5)' },
              { label: 'application error', stroke: '#c47f17', fill: 'rgba(196,127,23,0.5)' },
              { label: 'developer/internal error', stroke: '#c0392b', fill: 'rgba(192,57,43,0.5)' },
            ]}
          />
          <Chart
            id="chart-duration"
            title="Duration (p50, p95)"
            unit="ms"
            data={[xs, data.intervals.map((i) => i.p50DurationMs), data.intervals.map((i) => i.p95DurationMs)]}
            series={[
              { label: 'p50', stroke: '#2b7bb9', spanGaps: false },
              { label: 'p95', stroke: '#7d5ba6', spanGaps: false },
            ]}
          />
          <Chart
            id="chart-cold"
            title="Cold starts and errors"
            bars
            data={[xs, data.intervals.map((i) => i.coldStarts), data.intervals.map((i) => i.errors)]}
            series={[
              { label: 'cold starts', stroke: '#2b7bb9', fill: 'rgba(43,123,185,0.4)' },
              { label: 'errors', stroke: '#c0392b', fill: 'rgba(192,57,43,0.4)' },
            ]}
          />
        </>
      )}
    </section>
  );
}
