// A modal built on <dialog>: the browser traps focus and closes it with Escape.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export function Modal(props: { title: string; open: boolean; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class="modal" aria-label={props.title} onClose={props.onClose} onCancel={props.onClose}>
      {props.open && (
        <>
          <header class="modal-head">
            <h2>{props.title}</h2>
            <button type="button" class="icon" aria-label="Close" onClick={props.onClose}>
              ×
            </button>
          </header>
          {props.children}
        </>
      )}
    </dialog>
  );
}

export function ErrorNote(props: { error?: string | null }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}

export function StatusBadge(props: { code: number; label?: string; cls?: string }) {
  const cls = props.cls ?? ['ok', 'app', 'dev', 'int'][props.code] ?? 'int';
  const text = props.label ?? ['success', 'application error', 'developer error', 'internal error'][props.code] ?? 'unknown';
  return (
    <span class={`badge ${cls}`}>
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}
