// The expanded row of an activation still in flight (Logs tab): its state, live logs and progress, and Cancel.
// Cancel is `DELETE …/activations/{id}`: 200 with the cancelled record, 202 while the sandbox is being stopped,
// 409 when it already finished (the error names its status), 404 when it is unknown.
import { useState } from 'preact/hooks';
import { ApiError, request } from './api';
import { ErrorNote } from './dialog';
import { LiveLogs, type LiveEnd } from './live-logs';

export interface InFlightItem {
  activationId: string;
  name: string;
  version?: string;
  state: string;
  queuedAt: number;
  start?: number;
  namespace: string;
}

type CancelState = { kind: 'idle' } | { kind: 'sending' } | { kind: 'done'; text: string } | { kind: 'error'; text: string };

export function InFlightView(props: { item: InFlightItem; onFinished: (end?: LiveEnd) => void }) {
  const { item } = props;
  const [cancel, setCancel] = useState<CancelState>({ kind: 'idle' });

  const doCancel = async () => {
    setCancel({ kind: 'sending' });
    try {
      const { status } = await request<unknown>(`/api/v1/namespaces/_/activations/${item.activationId}`, { method: 'DELETE', accept: [202] });
      if (status === 202) setCancel({ kind: 'done', text: 'Cancelling: stopping the sandbox…' });
      else {
        setCancel({ kind: 'done', text: 'Cancelled.' });
        props.onFinished();
      }
    } catch (err) {
      const e = err as ApiError;
      if (e.status === 409) {
        setCancel({ kind: 'error', text: e.message });
        props.onFinished();
      } else setCancel({ kind: 'error', text: e instanceof ApiError ? e.message : String(err) });
    }
  };

  return (
    <div class="in-flight-view">
      <p class="meta">
        <span>
          State <strong class="in-flight-state">{item.state}</strong>
        </span>
        <button
          type="button"
          class="danger cancel-activation"
          disabled={cancel.kind === 'sending' || cancel.kind === 'done'}
          onClick={() => void doCancel()}
          aria-label={`Cancel activation ${item.activationId}`}
        >
          {cancel.kind === 'sending' ? 'Cancelling…' : 'Cancel'}
        </button>
        {cancel.kind === 'done' && (
          <span role="status" class="cancel-status">
            {cancel.text}
          </span>
        )}
      </p>
      {cancel.kind === 'error' && <ErrorNote error={cancel.text} />}
      <LiveLogs id={item.activationId} onEnd={props.onFinished} />
    </div>
  );
}
