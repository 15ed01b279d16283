// Every error Flare answers, whoever raised it (a route, Fastify's router, Node's HTTP parser), in OpenWhisk's
// shape {"error": "<message>", "code": "<transaction id>"}. Installed once on the app, so routes added later
// (by any plugin) are covered too.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { newTransactionId } from '../ids.js';
import { ApiError, Messages } from './errors.js';

const ROUTE_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'] as const;

export function sendError(reply: FastifyReply, req: FastifyRequest, status: number, message: string, fields?: Record<string, unknown>): FastifyReply {
  return reply.code(status).type('application/json').send({ error: message, code: String(req.id), ...fields });
}

/** Errors of the router itself (bad percent-encoding, over-long names), before any route runs. */
export function frameworkErrors(err: Error & { code?: string }, req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendError(reply, req, 414, 'The request URI is longer than allowed.');
    return;
  }
  if (err.code === 'FST_ERR_BAD_URL') {
    sendError(reply, req, 400, 'The request URI is not valid (malformed percent-encoding).');
    return;
  }
  sendError(reply, req, 400, Messages.malformedBody(err.message));
}

/**
 * Requests Node's HTTP parser refuses (unknown method, headers too large, garbage): answered on the raw socket,
 * which is then closed, so the answer says `Connection: close`; a HEAD request gets no body.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let message = 'The request could not be understood.';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = 'The request headers are larger than allowed.';
  } else if (err.code === 'HPE_INVALID_METHOD') {
    status = 400;
    message = 'The request method is not supported.';
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    message = 'The request was not received in time.';
  }
  if (socket.writable) {
    const packet = (err as { rawPacket?: unknown }).rawPacket;
    const head = Buffer.isBuffer(packet) && packet.subarray(0, 5).toString('latin1') === 'HEAD ';
    const body = head ? '' : JSON.stringify({ error: message, code: newTransactionId() });
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** The error and not-found handlers of the app. */
export function installErrorReplies(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
    if (err instanceof ApiError) {
      reply.headers(err.headers);
      return sendError(reply, req, err.status, err.message, err.fields);
    }
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const n = Number(req.headers['content-length'] ?? 0);
      return sendError(reply, req, 413, Messages.tooLarge(n, req.routeOptions.bodyLimit ?? 0));
    }
    if (e.validation) return sendError(reply, req, 400, Messages.malformedBody(e.message ?? 'invalid'));
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(reply, req, e.statusCode, Messages.malformedBody(e.message ?? 'invalid'));
    }
    // PostgreSQL's data exceptions (class 22: a NUL byte, a value out of range) come from client values.
    if (typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code)) {
      return sendError(reply, req, 400, Messages.malformedBody('A value in the request is not valid.'));
    }
    // A stack overflow comes from input nested too deep for some step: the client's fault, not a 5xx.
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      return sendError(reply, req, 400, Messages.malformedBody('The request content is nested too deeply.'));
    }
    logger.error({ err, url: req.url, reqId: req.id }, 'request failed');
    return sendError(reply, req, 500, Messages.internal);
  });

  app.setNotFoundHandler((req, reply) => {
    if (req.method === 'OPTIONS' && req.url.startsWith('/api/v1')) return reply.code(200).send();
    // A path that exists under other methods: 405 with Allow (as OpenWhisk's router answers), in the error shape.
    const path = req.url.split('?')[0]!;
    const allowed = ROUTE_METHODS.filter((m) => m !== req.method && app.findRoute({ method: m, url: path }));
    if (allowed.length) {
      reply.header('allow', allowed.join(', '));
      return sendError(reply, req, 405, Messages.methodNotAllowed + allowed.join(', '));
    }
    return sendError(reply, req, 404, Messages.notFound);
  });
}
