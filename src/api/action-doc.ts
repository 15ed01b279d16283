// Builds and validates action documents from PUT bodies (§5): exec, limits (D5), parameters, annotations, version.
import { retryPolicyProblem } from '../retries/retry-policy.js';
import type { ActionDoc, ActionExec, ActionLimits, KeyValue } from '../types.js';
import type { Limits } from '../config.js';
import { resolveKind, unsupportedKindMessage } from '../kinds.js';
import { ApiError, Messages, badRequest } from './errors.js';
import { isSequence, parseComponents, sequenceParameters, type SequenceExec } from '../invoker/sequence-components.js';

const BASE64 = /^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$/;

export function isBinaryCode(code: string): boolean {
  const t = code.trim();
  return t.length > 0 && t.length % 4 === 0 && BASE64.test(t);
}

const malformed = (reason: string) => badRequest(Messages.malformedBody(reason));

export function parseKeyValues(raw: unknown, field: string, allowInit: boolean): KeyValue[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw malformed(`'${field}' must be an array of {key, value} objects`);
  return raw.map((p) => {
    if (!p || typeof p !== 'object' || typeof (p as KeyValue).key !== 'string') {
      throw malformed(`'${field}' must be an array of {key, value} objects`);
    }
    const kv: KeyValue = { key: (p as KeyValue).key, value: (p as KeyValue).value ?? null };
    if (allowInit && (p as KeyValue).init === true) kv.init = true;
    return kv;
  });
}

function wholeNumber(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(`${what} limit must be whole number`);
  return v;
}

export function validateLimits(raw: unknown, base: ActionLimits, cfg: Limits): ActionLimits {
  if (raw === undefined || raw === null) return base;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw malformed("'limits' must be an object");
  const l = raw as Record<string, unknown>;
  const out = { ...base };
  if (l.timeout !== undefined) {
    const t = wholeNumber(l.timeout, 'time');
    if (t < cfg.timeoutMin) throw badRequest(`timeout ${t} milliseconds below allowed threshold of ${cfg.timeoutMin} milliseconds`);
    if (t > cfg.timeoutMax) throw badRequest(`timeout ${t} milliseconds exceeds allowed threshold of ${cfg.timeoutMax} milliseconds`);
    out.timeout = t;
  }
  if (l.memory !== undefined) {
    const m = wholeNumber(l.memory, 'memory');
    if (m < cfg.memoryMin) throw badRequest(`memory size ${m} MB below allowed threshold of ${cfg.memoryMin} MB`);
    if (m > cfg.memoryMax) throw badRequest(`memory size ${m} MB exceeds allowed threshold of ${cfg.memoryMax} MB`);
    out.memory = m;
  }
  if (l.logs !== undefined) {
    const g = wholeNumber(l.logs, 'log');
    if (g < cfg.logsMin) throw badRequest(`log size ${g} MB below allowed threshold of ${cfg.logsMin} MB`);
    if (g > cfg.logsMax) throw badRequest(`log size ${g} MB exceeds allowed threshold of ${cfg.logsMax} MB`);
    out.logs = g;
  }
  if (l.concurrency !== undefined) {
    const c = wholeNumber(l.concurrency, 'concurrency');
    if (c < 1) throw badRequest(`concurrency ${c} below allowed threshold of 1`);
    if (c > 1) throw badRequest(`concurrency ${c} exceeds allowed threshold of 1`);
    out.concurrency = c;
  }
  return out;
}

function sizeCheck(field: string, value: unknown, max: number): void {
  if (value === undefined) return;
  const n = Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value));
  if (n > max) throw new ApiError(413, Messages.fieldTooLarge(field, n, max));
}

export function bumpPatch(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : '0.0.1';
}

export function mergeAnnotations(old: KeyValue[], add: KeyValue[] | undefined, del: unknown): KeyValue[] {
  const removed = new Set(Array.isArray(del) ? del.filter((k) => typeof k === 'string') : []);
  const map = new Map<string, unknown>();
  for (const a of old) if (!removed.has(a.key)) map.set(a.key, a.value);
  for (const a of add ?? []) map.set(a.key, a.value);
  return [...map].map(([key, value]) => ({ key, value }));
}

export function setAnnotation(list: KeyValue[], key: string, value: unknown): KeyValue[] {
  const out = list.filter((a) => a.key !== key);
  out.push({ key, value });
  return out;
}

export function annotation(list: KeyValue[] | undefined, key: string): unknown {
  return list?.find((a) => a.key === key)?.value;
}

/**
 * Creates or updates an action document. `existing` is the stored doc (with code) on update.
 * Returns the doc (without code) and the code to store separately.
 */
export function buildActionDoc(
  body: unknown,
  namespace: string, // "ns" or "ns/pkg"
  name: string,
  existing: ActionDoc | undefined,
  cfg: Limits,
): { doc: ActionDoc; code: string | undefined } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw malformed('Object expected.');
  const b = body as Record<string, unknown>;
  sizeCheck('Parameters', b.parameters, cfg.paramsMax);
  sizeCheck('Annotations', b.annotations, cfg.paramsMax);

  let exec: ActionExec;
  let code: string | undefined;
  if (b.exec !== undefined && b.exec !== null) {
    if (typeof b.exec !== 'object' || Array.isArray(b.exec)) throw malformed("'exec' must be an object");
    const e = b.exec as Record<string, unknown>;
    if (typeof e.kind !== 'string') throw malformed("exec 'kind' is required");
    // Flare runs no Docker images: a blackbox action is OpenWhisk's native skeleton (a zip with an `exec`).
    if (e.kind === 'blackbox' && typeof e.code !== 'string') {
      throw badRequest(`Docker images are not supported on this platform: a 'blackbox' action needs its code, a zip whose 'exec' is an executable (OpenWhisk's native skeleton).`);
    }
  }
  if (b.exec && (b.exec as Record<string, unknown>).kind === 'sequence') {
    // Sequence (§5.1): components qualified here; their existence and length are checked by the route (needs the store).
    const components = parseComponents((b.exec as Record<string, unknown>).components, namespace.split('/')[0]!);
    exec = { kind: 'sequence', components, binary: false } as SequenceExec;
    code = undefined;
  } else if (b.exec !== undefined && b.exec !== null) {
    const e = b.exec as Record<string, unknown>;
    const kind = resolveKind(e.kind as string);
    if (!kind) throw badRequest(unsupportedKindMessage(e.kind as string));
    if (typeof e.code !== 'string') throw malformed("exec 'code' must be a string");
    if (e.main !== undefined && typeof e.main !== 'string') throw malformed("exec 'main' must be a string");
    sizeCheck('Code', e.code, cfg.codeMax);
    code = e.code;
    exec = { kind, binary: isBinaryCode(e.code), ...(e.main ? { main: e.main } : {}) };
  } else if (existing) {
    code = existing.exec.code;
    const { code: _omit, ...rest } = existing.exec;
    exec = rest;
  } else {
    throw badRequest('exec undefined');
  }

  const baseLimits: ActionLimits = existing?.limits ?? {
    timeout: cfg.timeoutDefault,
    memory: cfg.memoryDefault,
    logs: cfg.logsDefault,
    concurrency: 1,
  };
  const limits = validateLimits(b.limits, baseLimits, cfg);
  let parameters = parseKeyValues(b.parameters, 'parameters', true) ?? existing?.parameters ?? [];
  // A sequence keeps only its hidden `_actions` parameter; an action that stops being a sequence drops it.
  if (isSequence(exec)) parameters = sequenceParameters(exec.components);
  else if (existing && isSequence(existing.exec)) parameters = parameters.filter((p) => p.key !== '_actions');
  let annotations = mergeAnnotations(existing?.annotations ?? [], parseKeyValues(b.annotations, 'annotations', false), b.delAnnotations);
  if (!existing && annotation(annotations, 'provide-api-key') === undefined) {
    annotations = setAnnotation(annotations, 'provide-api-key', false);
  }
  annotations = setAnnotation(annotations, 'exec', exec.kind);
  // Run-control annotations Flare acts on are checked here, so a bad one is a 400 and not a silent "off".
  const retryProblem = retryPolicyProblem(annotation(annotations, 'retry'));
  if (retryProblem) throw badRequest(retryProblem);
  const storeParams = annotation(annotations, 'store-params');
  if (storeParams !== undefined && typeof storeParams !== 'boolean') throw badRequest("The annotation 'store-params' must be true or false.");
  if (b.version !== undefined && (typeof b.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(b.version))) {
    throw malformed(`'version' must be a semantic version, e.g. 0.0.1`);
  }
  const version = typeof b.version === 'string' ? b.version : existing ? bumpPatch(existing.version) : '0.0.1';
  const publish = typeof b.publish === 'boolean' ? b.publish : (existing?.publish ?? false);
  const doc: ActionDoc = {
    namespace,
    name,
    exec,
    parameters,
    limits,
    version,
    publish,
    annotations,
    updated: Math.max(Date.now(), (existing?.updated ?? 0) + 1),
  };
  return { doc, code };
}

/** Full action for GET/PUT responses: exec with code (or without when code=false). */
export function actionView(doc: ActionDoc, code: string | undefined, withCode: boolean): ActionDoc {
  // A sequence shows {kind, components} with or without code=false (OpenWhisk's SequenceExec).
  if (isSequence(doc.exec)) return { ...doc, exec: { kind: 'sequence', components: doc.exec.components } as unknown as ActionExec };
  const exec: ActionExec = withCode && code !== undefined ? { ...doc.exec, code } : { ...doc.exec };
  if (!withCode) delete exec.code;
  return { ...doc, exec: { kind: exec.kind, ...(exec.code !== undefined ? { code: exec.code } : {}), binary: exec.binary, ...(exec.main ? { main: exec.main } : {}) } };
}

/** List summary (§2.1): {namespace, name, version, publish, annotations, limits, exec: {binary}, updated}. */
export function actionSummary(doc: ActionDoc): Record<string, unknown> {
  return {
    namespace: doc.namespace,
    name: doc.name,
    version: doc.version,
    publish: doc.publish,
    annotations: doc.annotations,
    limits: doc.limits,
    exec: { binary: doc.exec.binary },
    updated: doc.updated,
  };
}
