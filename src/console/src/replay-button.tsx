// Replay of a finished activation (issue 11): POST …/activations/{id}/replay, then the new id, or the server's reason
// (e.g. 409 for a function with store-params: false, or one updated since).
import { useState } from 'preact/hooks';
import { request } from './api';

type State = { kind: 'idle' } | { kind: 'sending' } | { kind: 'done'; id: string } | { kind: 'error'; text: string };

export function ReplayButton(props: { activationId: string }) {
  const [state, setState] = useState<State>({ kind: 'idle' });
  const replay = async () => {
    setState({ kind: 'sending' });
    try {
      const { body } = await request<{ activationId: string }>(`/api/v1/namespaces/_/activations/${props.activationId}/replay`, { method: 'POST' });
      setState({ kind: 'done', id: body.activationId });
    } catch (err) {
      setState({ kind: 'error', text: (err as Error).message });
    }
  };
  return (
    <span class="replay">
      <button
        type="button"
        class="replay-activation"
        disabled={state.kind === 'sending'}
        onClick={() => void replay()}
        aria-label={`Replay activation ${props.activationId}`}
        title="Invoke again with the same function version and parameters"
      >
        {state.kind === 'sending' ? 'Replaying…' : 'Replay'}
      </button>
      {state.kind === 'done' && (
        <span role="status" class="replay-status">
          Replayed as <code class="id replay-id">{state.id}</code>
        </span>
      )}
      {state.kind === 'error' && (
        <span role="alert" class="replay-status error">
          {state.text}
        </span>
      )}
    </span>
  );
}
