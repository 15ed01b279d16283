// One activation record, rendered as status, result and logs (used after Run / Run async), with a Replay button.
import type { ActivationRecord } from './api';
import { StatusBadge } from './dialog';
import { duration, isCold, localTime } from './format';
import { ReplayButton } from './replay-button';

export function RecordView(props: { record: ActivationRecord }) {
  const r = props.record;
  return (
    <div class="record-view">
      <p class="meta">
        <StatusBadge code={r.statusCode ?? r.response?.statusCode ?? 3} />
        <span>
          Duration <strong>{duration(r.duration)}</strong>
        </span>
        <span>{isCold(r) ? 'cold start' : 'warm'}</span>
        <span>
          Started <strong>{localTime(r.start)}</strong>
        </span>
        {r.activationId && <ReplayButton activationId={r.activationId} />}
      </p>
      <h3>Result</h3>
      <pre class="json result">{JSON.stringify(r.response?.result, null, 2)}</pre>
      <h3>Logs</h3>
      {r.logs?.length ? (
        <pre class="logs-pane">{r.logs.join('\n')}</pre>
      ) : (
        <p class="muted">No log lines.</p>
      )}
    </div>
  );
}
