// Request bodies read under a per-route byte limit while they stream: nothing past the limit is kept, and the
// 413 names the real size (the bytes counted to the body's end, chunked or not). The refused rest is read and
// discarded rather than cut off, so the client reads the answer instead of a reset connection; the answer then
// closes the connection (Connection: close).
import type { IncomingMessage } from 'node:http';
import { ApiError, Messages } from './errors.js';

/** A refused chunked body is counted (not kept) up to this many bytes so the 413 can name its size. */
const COUNT_CAP = 1024 * 1_048_576;

export function readBody(raw: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
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
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      if (over) return refuse(String(size));
      finish();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
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
