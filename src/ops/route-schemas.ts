// JSON schemas of the routes that validate their input in their handlers (OpenWhisk's exact error messages and
// status codes, D5), keyed by "METHOD url". They describe the route for the OpenAPI document only: an onRoute hook
// attaches them with a pass-through validator and serializer, so no request or response changes by a byte. Routes
// that declare a schema of their own keep it (and its validation). test/openapi.test.ts fails for a route with neither.
import type { FastifySchema } from 'fastify';

const str = (description: string) => ({ type: 'string', description });
const ns = str("Namespace name, or _ for the namespace of the key");
const name = str('Entity name');
const path = str('[package/]name of the action');
const id = str('Activation id (32 hex digits)');
const bool = (description: string) => ({ type: 'string', enum: ['true', 'false'], description });
const obj = (description: string) => ({ type: 'object', additionalProperties: true, description });
const arr = (description: string) => ({ type: 'array', items: { type: 'object', additionalProperties: true }, description });
const error = obj('OpenWhisk error: {"error": message, "code": transaction id}');

const listQuery = {
  limit: str('Page size, 0–200 (0 = 200; default 30)'),
  skip: str('Entries to skip'),
  count: bool('Return {"<collection>": n} instead of the entities'),
};
const params = (p: Record<string, object>) => ({ type: 'object', properties: p, required: Object.keys(p) });
const nsParams = params({ namespace: ns });
const nameParams = params({ namespace: ns, name });
const actionParams = params({ namespace: ns, '*': path });
const idParams = params({ namespace: ns, id });
const overwrite = { type: 'object', properties: { overwrite: bool('Replace an existing entity') } };
const errors = { 400: error, 401: error, 403: error, 404: error, 409: error, 413: error, 429: error, 502: error };

function route(tags: string, summary: string, s: Omit<FastifySchema, 'tags' | 'summary'> & { ok?: object; okCode?: number } = {}): FastifySchema {
  const { ok, okCode, ...rest } = s;
  return { tags: [tags], summary, ...rest, response: { [okCode ?? 200]: ok ?? obj('The entity'), ...errors } };
}

const A = '/api/v1/namespaces/:namespace';
const DO = '/v2/functions/namespaces/:namespace/triggers';

export const ROUTE_SCHEMAS: Record<string, FastifySchema> = {
  'GET /': route('Info', 'Redirect to the console (browsers) or the API information', { ok: obj('API information') }),
  'GET /api/v1': route('Info', 'API information: version, limits, swagger_paths, sandbox mode', { ok: obj('API information') }),
  'GET /api/v1/namespaces': route('Namespaces', 'Namespaces the key can use', { ok: { type: 'array', items: { type: 'string' } } }),
  [`GET ${A}/limits`]: route('Namespaces', 'Limits of the namespace', { params: nsParams, ok: obj('Limits') }),

  [`GET ${A}/actions`]: route('Actions', 'List actions', { params: nsParams, querystring: { type: 'object', properties: listQuery }, ok: arr('Actions (without code)') }),
  [`GET ${A}/actions/*`]: route('Actions', 'Get an action', { params: actionParams, querystring: { type: 'object', properties: { code: bool('Include the code (default true)') } }, ok: obj('The action') }),
  [`PUT ${A}/actions/*`]: route('Actions', 'Create or update an action', { params: actionParams, querystring: overwrite, body: obj('exec {kind, code | components, main, binary}, parameters, annotations, limits'), ok: obj('The action') }),
  [`DELETE ${A}/actions/*`]: route('Actions', 'Delete an action', { params: actionParams, ok: obj('The deleted action') }),
  [`POST ${A}/actions/*`]: route('Actions', 'Invoke an action', {
    params: actionParams,
    querystring: {
      type: 'object',
      properties: {
        blocking: bool('Wait for the result (up to the sync wait; 202 after it)'),
        result: bool('With blocking: answer only the result'),
        timeout: str('With blocking: ms to wait, ≤ the sync wait'),
        ttl: str('Queue TTL in ms: not started after received + ttl'),
      },
    },
    headers: { type: 'object', properties: { 'idempotency-key': str('Makes a retry answer the first accepted activation') } },
    body: obj('Parameters of the invocation'),
    okCode: 202,
    ok: obj('{"activationId"} (non-blocking), or the activation record / result with 200 or 502 (blocking)'),
  }),

  [`GET ${A}/packages`]: route('Packages', 'List packages', { params: nsParams, querystring: { type: 'object', properties: listQuery }, ok: arr('Packages') }),
  [`GET ${A}/packages/:name`]: route('Packages', 'Get a package (with its actions)', { params: nameParams, ok: obj('The package') }),
  [`PUT ${A}/packages/:name`]: route('Packages', 'Create or update a package or binding', { params: nameParams, querystring: overwrite, body: obj('binding, parameters, annotations, publish'), ok: obj('The package') }),
  [`DELETE ${A}/packages/:name`]: route('Packages', 'Delete a package', { params: nameParams, querystring: { type: 'object', properties: { force: bool('Delete its actions too') } }, ok: obj('The deleted package') }),

  [`GET ${A}/activations`]: route('Activations', 'List activations, newest first', {
    params: nsParams,
    querystring: {
      type: 'object',
      properties: {
        ...listQuery,
        docs: bool('Full records instead of summaries'),
        name: str('Filter: [package/]action name'),
        since: str('Filter: start ≥ epoch ms'),
        upto: str('Filter: start ≤ epoch ms'),
        statusCode: str('Filter: comma-separated status codes 0–3'),
        cause: str('Filter: activations caused by this activation (a sequence)'),
        state: str('In-flight work: queued, running or both (comma-separated)'),
        cursor: str('Next page after Flare-Next-Cursor'),
      },
    },
    ok: arr('Activation summaries or records'),
  }),
  [`GET ${A}/activations/:id`]: route('Activations', 'Get an activation record (?wait / Prefer: wait for one in flight)', {
    params: idParams,
    querystring: { type: 'object', properties: { wait: str('ms to wait for the record (≤ 60000)') } },
    ok: obj('The activation record'),
  }),
  [`GET ${A}/activations/:id/result`]: route('Activations', 'Get the response of an activation', {
    params: idParams,
    querystring: { type: 'object', properties: { wait: str('ms to wait for the record (≤ 60000)') } },
    ok: obj('{"result", "status", "success", "size"}'),
  }),

  [`GET ${A}/triggers`]: route('Triggers', 'List triggers', { params: nsParams, querystring: { type: 'object', properties: listQuery }, ok: arr('Triggers') }),
  [`GET ${A}/triggers/:name`]: route('Triggers', 'Get a trigger', { params: nameParams, ok: obj('The trigger') }),
  [`PUT ${A}/triggers/:name`]: route('Triggers', 'Create or update a trigger (feed annotation: runs the feed)', { params: nameParams, querystring: overwrite, body: obj('parameters, annotations, limits'), ok: obj('The trigger') }),
  [`DELETE ${A}/triggers/:name`]: route('Triggers', 'Delete a trigger', { params: nameParams, ok: obj('The deleted trigger') }),
  [`POST ${A}/triggers/:name`]: route('Triggers', 'Fire a trigger: invokes the actions of its active rules', {
    params: nameParams,
    headers: { type: 'object', properties: { 'idempotency-key': str('Makes a retry answer the first fire') } },
    body: obj('Payload merged over the trigger parameters'),
    okCode: 202,
    ok: obj('{"activationId"} of the trigger activation (204 without an active rule)'),
  }),

  [`GET ${A}/rules`]: route('Rules', 'List rules', { params: nsParams, querystring: { type: 'object', properties: listQuery }, ok: arr('Rules') }),
  [`GET ${A}/rules/:name`]: route('Rules', 'Get a rule', { params: nameParams, ok: obj('The rule') }),
  [`PUT ${A}/rules/:name`]: route('Rules', 'Create or update a rule', { params: nameParams, querystring: overwrite, body: obj('trigger, action'), ok: obj('The rule') }),
  [`POST ${A}/rules/:name`]: route('Rules', 'Enable or disable a rule', { params: nameParams, body: obj('{"status": "active" | "inactive"}'), ok: obj('The rule') }),
  [`DELETE ${A}/rules/:name`]: route('Rules', 'Delete a rule', { params: nameParams, ok: obj('The deleted rule') }),

  [`GET ${DO}`]: route('DigitalOcean triggers', 'List scheduled triggers', { params: nsParams, querystring: { type: 'object', properties: { function: str('Only triggers of this function') } }, ok: obj('{"triggers": [...]}') }),
  [`POST ${DO}`]: route('DigitalOcean triggers', 'Create a scheduled trigger', { params: nsParams, body: obj('name, function, type: SCHEDULED, is_enabled, scheduled_details {cron, body}'), ok: obj('{"trigger"}') }),
  [`GET ${DO}/:name`]: route('DigitalOcean triggers', 'Get a scheduled trigger', { params: nameParams, ok: obj('{"trigger"}') }),
  [`PUT ${DO}/:name`]: route('DigitalOcean triggers', 'Update a scheduled trigger', { params: nameParams, body: obj('is_enabled, scheduled_details'), ok: obj('{"trigger"}') }),
  [`DELETE ${DO}/:name`]: route('DigitalOcean triggers', 'Delete a scheduled trigger', { params: nameParams, okCode: 204, ok: { description: 'Deleted (no content)' } }),

  'GET /api/v1/web/:namespace/*': route('Web actions', 'Call a web action: /<package|default>/<action>[.json|.html|.text|.http][/path]', {
    params: params({ namespace: ns, '*': str('<package|default>/<action>[.ext][/path]') }),
    ok: { description: 'Whatever the web action answers' },
  }),

  'GET /console': route('Console', 'The web console', { ok: { type: 'string', description: 'HTML' } }),
  'GET /console/': route('Console', 'The web console', { ok: { type: 'string', description: 'HTML' } }),
  'GET /console/*': route('Console', "The console's assets (and its client-side routes)", { params: params({ '*': str('Asset path') }), ok: { type: 'string', description: 'Asset' } }),
};

/** The documentation schema of a route without its own ("METHOD url"; HEAD routes share their GET's). */
export function routeSchema(method: string, url: string): FastifySchema | undefined {
  return ROUTE_SCHEMAS[`${method === 'HEAD' ? 'GET' : method} ${url}`];
}
