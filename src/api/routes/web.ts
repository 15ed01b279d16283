// Web actions (§6): /api/v1/web/{ns}/{pkg|default}/{action}[.ext][/path], synchronous only (D12), run as the owner.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../server.js';
import { identityOf } from '../auth.js';
import { annotation } from '../action-doc.js';
import { resolveAction } from '../resolve-action.js';
import { ApiError, Messages, WWW_AUTHENTICATE } from '../errors.js';
import { sendError } from '../error-replies.js';
import { jsonTooDeep, readBody, tooDeep } from '../body-reader.js';
import type { ActivationRecord } from '../../types.js';

const EXTENSIONS = ['.http', '.json', '.html', '.svg', '.text'] as const;
type Ext = (typeof EXTENSIONS)[number];

const WEB_CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH',
};
const DEFAULT_ALLOW_HEADERS = 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent';

type Req = FastifyRequest<{ Params: { namespace: string; '*': string } }>;

export async function webRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  // Web bodies are passed through raw; the JSON-only parser of the REST API does not apply here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => {
    readBody(payload, ctx.config.limits.payloadMax).then((buf) => done(null, buf), (err) => done(err as Error, undefined));
  });

  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
    url: '/api/v1/web/:namespace/*',
    handler: (req: Req, reply) => handleWeb(ctx, req, reply),
  });
}

async function handleWeb(ctx: ApiContext, req: Req, reply: FastifyReply): Promise<FastifyReply> {
  const { store, config } = ctx;
  const segments = req.params['*'].split('/');
  if (segments.length < 2 || !segments[0] || !segments[1]) throw new ApiError(404, Messages.notFound);
  const pkg = segments[0];
  let actionSeg = segments[1];
  const extraPath = segments.length > 2 ? `/${segments.slice(2).join('/')}` : '';
  let ext: Ext = '.http';
  for (const e of EXTENSIONS) {
    if (actionSeg.endsWith(e) && actionSeg.length > e.length) {
      ext = e;
      actionSeg = actionSeg.slice(0, -e.length);
      break;
    }
  }
  const ownerRow = await store.getNamespace(req.params.namespace);
  if (!ownerRow) throw new ApiError(404, Messages.notFound);
  const owner = identityOf(ownerRow, '', ctx.auth.defaults);
  let resolved;
  try {
    resolved = await resolveAction(ctx.entities, owner, ownerRow.name, pkg === 'default' ? actionSeg : `${pkg}/${actionSeg}`);
  } catch {
    throw new ApiError(404, Messages.notFound);
  }
  const ann = resolved.doc.annotations;
  const webExport = annotation(ann, 'web-export');
  if (webExport !== true && webExport !== 'true') throw new ApiError(404, Messages.notFound);
  const customOptions = annotation(ann, 'web-custom-options') === true;
  if (!customOptions) {
    reply.headers({ ...WEB_CORS, 'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? DEFAULT_ALLOW_HEADERS });
    if (req.method === 'OPTIONS') return reply.code(200).send();
  }
  const query = req.query as Record<string, string>;
  if (String(query.blocking).toLowerCase() === 'false') {
    throw new ApiError(400, 'Web functions cannot be invoked asynchronously. Use the REST API with blocking=false instead.');
  }
  const caller = await ctx.auth.tryAuthenticate(req.headers.authorization);
  const requireAuth = annotation(ann, 'require-whisk-auth');
  if (requireAuth === true && !caller) throw new ApiError(401, Messages.authInvalid, WWW_AUTHENTICATE);
  if ((typeof requireAuth === 'string' || typeof requireAuth === 'number') && String(req.headers['x-require-whisk-auth'] ?? '') !== String(requireAuth)) {
    throw new ApiError(401, Messages.authInvalid, WWW_AUTHENTICATE);
  }

  const raw = annotation(ann, 'raw-http') === true;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  const payload: Record<string, unknown> = {};
  const body = req.body as Buffer | undefined;
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
  if (raw) {
    payload.__ow_query = rawQuery;
    // Always present, "" without a body (OpenWhisk).
    payload.__ow_body = !body || !body.length ? '' : isBinaryType(contentType) || contentType === 'application/json' ? body.toString('base64') : body.toString('utf8');
  } else {
    for (const [k, v] of Object.entries(query)) payload[k] = v;
    let bodyValue: unknown;
    if (body && body.length) {
      const merged = parseWebBody(body, contentType);
      if ('fields' in merged) Object.assign(payload, merged.fields);
      else bodyValue = merged.value;
    }
    if (Object.keys(payload).some((k) => k.startsWith('__ow_'))) throw new ApiError(400, Messages.finalParams);
    // A body that is not a JSON object is not parameters: it is passed whole as __ow_body.
    if (bodyValue !== undefined) payload.__ow_body = bodyValue;
  }
  payload.__ow_method = req.method.toLowerCase();
  payload.__ow_headers = headers;
  payload.__ow_path = extraPath;
  if (caller) payload.__ow_user = caller.namespace;

  const out = await ctx.invocations.invoke(owner, resolved, payload, {
    blocking: true,
    waitMs: config.syncWaitMs,
    transactionId: String(req.id),
    received: req.received,
  });
  reply.header('x-openwhisk-activation-id', out.activationId);
  if (!out.record) return reply.code(202).send({ error: 'Response not yet ready.', code: String(req.id) });
  return sendWebResult(req, reply, out.record, ext);
}

function isBinaryType(ct: string): boolean {
  if (!ct) return false;
  if (ct.startsWith('text/') || ct.endsWith('+json') || ct.endsWith('+xml')) return false;
  return !['application/json', 'application/x-www-form-urlencoded', 'application/xml', 'application/javascript'].includes(ct);
}

/** A JSON object's fields, or the body as one value: JSON array/scalar itself, text as a string, binary as base64. */
function parseWebBody(body: Buffer, ct: string): { fields: Record<string, unknown> } | { value: unknown } {
  if (ct === 'application/json' || ct.endsWith('+json') || ct === '') {
    if (jsonTooDeep(body.toString('utf8'))) throw tooDeep();
    try {
      const v = JSON.parse(body.toString('utf8'));
      if (v && typeof v === 'object' && !Array.isArray(v)) return { fields: v };
      return { value: v };
    } catch {
      // not JSON: passed as text below
    }
  }
  if (ct === 'application/x-www-form-urlencoded') {
    return { fields: Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
  }
  return { value: isBinaryType(ct) ? body.toString('base64') : body.toString('utf8') };
}

function sendWebResult(req: FastifyRequest, reply: FastifyReply, record: ActivationRecord, ext: Ext): FastifyReply {
  if (record.statusCode >= 2) return sendError(reply, req, 400, 'There was an error processing your request.');
  let result = record.response.result as any;
  if (record.statusCode === 1 && result && typeof result === 'object' && 'error' in result) result = result.error;
  switch (ext) {
    case '.json':
      if (result && typeof result === 'object') return reply.code(200).type('application/json').send(result);
      return sendError(reply, req, 400, 'Response type in header did not match generated content type.');
    case '.html':
    case '.svg':
    case '.text': {
      const prop = ext.slice(1);
      const v = result?.body ?? result?.[prop];
      if (typeof v !== 'string') {
        if (ext === '.html') return sendError(reply, req, 400, "Response is not valid 'text/html'.");
        return sendError(reply, req, 404, 'Response does not include requested property.');
      }
      const type = ext === '.html' ? 'text/html; charset=UTF-8' : ext === '.svg' ? 'image/svg+xml' : 'text/plain; charset=UTF-8';
      return reply.code(200).type(type).send(v);
    }
    default:
      return sendHttp(req, reply, result);
  }
}

function sendHttp(req: FastifyRequest, reply: FastifyReply, result: any): FastifyReply {
  if (!result || typeof result !== 'object' || Array.isArray(result)) {
    return sendError(reply, req, 400, "Response is not valid 'message/http'.");
  }
  const headers = (result.headers ?? {}) as Record<string, unknown>;
  if (typeof headers !== 'object' || Array.isArray(headers)) return sendError(reply, req, 400, "Response is not valid 'message/http'.");
  let status = 200;
  const body = result.body;
  const empty = body === undefined || body === null || body === '';
  if (result.statusCode !== undefined) {
    const n = Number(result.statusCode);
    if (!Number.isInteger(n) || n < 100 || n > 599) return sendError(reply, req, 400, "Response is not valid 'message/http'.");
    status = n;
  } else if (empty) status = 204;
  let contentType: string | undefined;
  for (const [k, v] of Object.entries(headers)) {
    const values = Array.isArray(v) ? v.map(String) : [String(v)];
    if (k.toLowerCase() === 'content-type') contentType = values[0];
    reply.header(k, values.length === 1 ? values[0] : values);
  }
  if (empty) return reply.code(status).send();
  if (typeof body === 'string') {
    const ct = (contentType ?? 'text/html').split(';')[0]!.trim().toLowerCase();
    if (!contentType) reply.type('text/html; charset=UTF-8');
    if (isBinaryType(ct)) return reply.code(status).send(Buffer.from(body, 'base64'));
    return reply.code(status).send(body);
  }
  if (!contentType) reply.type('application/json');
  return reply.code(status).send(JSON.stringify(body));
}
