// Maps what a runner answered (or failed to answer) to OpenWhisk's statusCode and result (openwhisk-api.md §4.2,
// §9.3, §9.5), including the standard developer-error messages.
import type { Exchange } from './executor.js';

export interface Mapped {
  statusCode: 0 | 1 | 2 | 3;
  result: unknown;
  size?: number;
  timeout: boolean;
  /** The executor must not be reused. */
  destroy: boolean;
}

export const MSG = {
  initExited: 'The action did not initialize and exited unexpectedly.',
  runExited: 'The action did not produce a valid response and exited unexpectedly.',
  memory: 'The action exhausted its memory and was aborted.',
  invalidJson: (body: string) => `The action did not produce a valid JSON or JSON Array response: ${body}`,
  initFailed: (body: string) => `The action failed during initialization: ${body}`,
  timeout: (ms: number) => `The action exceeded its time limits of ${ms} milliseconds.`,
  initTimeout: (ms: number) => `The action exceeded its time limits of ${ms} milliseconds during initialization.`,
  truncated: (size: number, max: number, prefix: string) =>
    `The action produced a response that exceeded the allowed length: ${size} > ${max} bytes. The truncated response was: ${prefix}`,
};

function parse(body: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Init outcome: undefined means the action initialized. */
export function mapInit(e: Exchange, timeoutMs: number, oom: boolean): Mapped | undefined {
  if (e.kind === 'timeout') {
    return { statusCode: 2, result: { error: MSG.initTimeout(timeoutMs) }, timeout: true, destroy: true };
  }
  if (e.kind === 'exited') {
    return { statusCode: 2, result: { error: oom ? MSG.memory : MSG.initExited }, timeout: false, destroy: true };
  }
  if (e.status === 200) return undefined;
  const p = parse(e.body);
  const error = p.ok && isObject(p.value) && 'error' in p.value ? p.value.error : MSG.initFailed(e.body);
  return { statusCode: 2, result: { error }, timeout: false, destroy: true };
}

export function mapRun(e: Exchange, timeoutMs: number, resultMax: number, oom: boolean): Mapped {
  if (e.kind === 'timeout') {
    return { statusCode: 2, result: { error: MSG.timeout(timeoutMs) }, timeout: true, destroy: true };
  }
  if (e.kind === 'exited') {
    return { statusCode: 2, result: { error: oom ? MSG.memory : MSG.runExited }, timeout: false, destroy: true };
  }
  if (e.truncated) {
    return {
      statusCode: 1,
      result: { error: MSG.truncated(e.size, resultMax, e.body) },
      size: e.size,
      timeout: false,
      destroy: false,
    };
  }
  const p = parse(e.body);
  if (e.status === 200) {
    if (p.ok && (isObject(p.value) || Array.isArray(p.value))) {
      const appError = isObject(p.value) && 'error' in p.value;
      return { statusCode: appError ? 1 : 0, result: p.value, size: e.size, timeout: false, destroy: false };
    }
    return { statusCode: 2, result: { error: MSG.invalidJson(e.body) }, size: e.size, timeout: false, destroy: false };
  }
  // A non-200 from the runner is a developer error; OpenWhisk's node proxy stops the container after it.
  const error = p.ok && isObject(p.value) && 'error' in p.value ? p.value.error : MSG.invalidJson(e.body);
  return { statusCode: 2, result: { error }, size: e.size, timeout: false, destroy: true };
}
