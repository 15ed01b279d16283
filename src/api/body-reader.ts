// Request bodies read under a per-route byte limit while they stream: nothing past the limit is kept, and the
// 413 names the real size (the bytes counted to the body's end, chunked or not). The refused rest is read and
// discarded rather than cut off, so the client reads the answer instead of a reset connection; the answer then
// closes the connection (Connection: close).
import type { IncomingMessage } from 'node:http';
import { ApiError, Messages } from './errors.js';
import { LARGE_BODY_BYTES, type GateTicket, type LargeBodyGate } from './large-body-gate.js';

/** Bodies up to this size are kept as the chunks they came in. */
const SMALL_BODY = 256 * 1024;

/** A refused chunked body is counted (not kept) up to this many bytes so the 413 can name its size. */
const COUNT_CAP = 1024 * 1_048_576;

/**
 * With `gate`, a body that grows past LARGE_BODY_BYTES (and stays under its limit) waits for a slot before more of
 * it is read; `onTicket` receives the slot, which the caller releases once the request is answered.
 */
export function readBody(raw: IncomingMessage, limit: number, gate?: LargeBodyGate, onTicket?: (t: GateTicket) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let gated = false;
    // Small bodies are kept as the socket's chunks; past SMALL_BODY they are copied into one buffer grown by doubling
    // (sized from Content-Length when given), so the socket's 64 KB read buffers are freed as they come instead of
    // being held, scattered through the allocator, for the whole upload.
    const chunks: Buffer[] = [];
    let whole: Buffer | undefined;
    let size = 0;
    const declared = Number(raw.headers['content-length']);
    // A declared length over the limit is refused as it streams, with nothing kept.
    let over = Number.isFinite(declared) && declared > limit;
    const finish = (err?: Error) => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
      raw.off('aborted', onAborted);
      if (err) reject(err);
    };
    const refuse = (shown: string) => {
      finish(new ApiError(413, `Request larger than allowed: ${shown} > ${limit} bytes.`));
      raw.resume();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (over) {
        if (size > COUNT_CAP) refuse(`more than ${COUNT_CAP}`);
        return;
      }
      if (size > limit) {
        over = true;
        chunks.length = 0; // what will be refused is not kept
        whole = undefined;
        return;
      }
      if (whole) {
        if (size > whole.length) {
          const grown = Buffer.allocUnsafeSlow(Math.min(limit, Math.max(whole.length * 2, size)));
          whole.copy(grown, 0, 0, size - chunk.length);
          whole = grown;
        }
        chunk.copy(whole, size - chunk.length);
      } else if (size > SMALL_BODY) {
        const hint = Number.isFinite(declared) && declared >= size ? declared : 2 * size;
        whole = Buffer.allocUnsafeSlow(Math.min(limit, Math.max(hint, size)));
        let at = 0;
        for (const c of chunks) at += c.copy(whole, at);
        chunk.copy(whole, at);
        chunks.length = 0;
      } else chunks.push(chunk);
      if (gate && !gated && size > LARGE_BODY_BYTES) {
        gated = true;
        raw.pause();
        void gate.acquire().then((ticket) => {
          onTicket?.(ticket);
          raw.resume();
        });
      }
    };
    const onEnd = () => {
      if (over) return refuse(String(size));
      finish();
      if (whole) resolve(whole.subarray(0, size));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => finish(new ApiError(400, Messages.malformedBody(err.message)));
    const onAborted = () => finish(new ApiError(400, Messages.malformedBody('The request was aborted.')));
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('error', onError);
    raw.on('aborted', onAborted);
  });
}

/** Deepest nesting accepted in a JSON body (deeper documents cannot be serialized safely downstream). */
export const JSON_DEPTH_MAX = 512;

/** Whether `text` nests arrays/objects deeper than `max`; a linear scan that skips string contents. */
export function jsonTooDeep(text: string, max = JSON_DEPTH_MAX): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

export const tooDeep = () => new ApiError(400, Messages.malformedBody(`JSON nested deeper than ${JSON_DEPTH_MAX} levels.`));

/** Parses a JSON body (reviver drops __proto__), refusing deep nesting with a 400. */
export function parseJsonBody(text: string): unknown {
  if (jsonTooDeep(text)) throw tooDeep();
  try {
    return JSON.parse(text, (k, v) => (k === '__proto__' ? undefined : v));
  } catch (err) {
    throw new ApiError(400, Messages.malformedBody((err as Error).message));
  }
}
