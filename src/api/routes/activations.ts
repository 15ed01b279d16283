// Activations (§2.6): list with filters, get by id, result, logs. Unknown and swept ids answer D2's 404; in-flight ids
// answer the same 404 with run control's state fields (src/run-control/), and `?wait` parks until the record commits.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../server.js';
import type { ActivationCursor, ActivationRecord } from '../../types.js';
import { decodeCursor, encodeCursor, nextPageUrl, parseStatusCodes } from '../activation-cursor.js';
import { ApiError, Messages, badRequest } from '../errors.js';
import { parseBool, parseEpoch, parseListParams } from '../list-params.js';
import { ownNamespace } from './namespace-access.js';
import { LogFollowers } from '../../live-logs/follow-logs.js';
import { streamLifetime } from '../../live-logs/stream-lifetime.js';
import { inFlightFields, parseStates } from '../../run-control/activation-state.js';
import { listByState } from '../../run-control/list-in-flight.js';
import { parseWait, waitForRecord } from '../../run-control/wait.js';
import { progressField } from '../../run-control/progress.js';
import { retriesExhausted } from '../../retries/dead-letters.js';

type Req = { Params: { namespace: string; id: string }; Querystring: Record<string, string | undefined> };

const NAME_FILTER = /^[^/]+(\/[^/]+)?$/;

export async function activationRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store } = ctx;

  app.get<Req>('/api/v1/namespaces/:namespace/activations', async (req, reply) => {
    const ns = ownNamespace(req, req.params.namespace);
    const q = req.query;
    const p = parseListParams(q, 'activations');
    const docs = parseBool(q.docs, 'docs');
    if (p.count && docs) throw badRequest("The parameter 'docs' is not permitted with 'count'.");
    let name = q.name;
    if (name !== undefined && name !== '') {
      if (!NAME_FILTER.test(name)) throw badRequest(`Parameter may be a 'simple' name or 'package-name/simple' name: ${name}`);
    } else name = undefined;
    const since = parseEpoch(q.since);
    const upto = parseEpoch(q.upto);
    const statusCodes = parseStatusCodes(q.statusCode);
    const cause = q.cause === undefined || q.cause === '' ? undefined : q.cause;
    if (cause !== undefined && !/^[0-9a-f]{32}$/.test(cause)) throw badRequest(`The cause '${cause}' is not an activation id.`);
    const filter = {
      namespace: ns,
      ...(name ? { name } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(upto !== undefined ? { upto } : {}),
      ...(statusCodes ? { statusCodes } : {}),
      ...(cause ? { cause } : {}),
    };
    const states = parseStates(q.state);
    // The dead-letter view (issue 11): failed activations whose retries ran out.
    const deadLetters = q.retriesExhausted !== undefined && parseBool(q.retriesExhausted, 'retriesExhausted');
    if (deadLetters && !states) throw badRequest("The parameter 'retriesExhausted' needs 'state', e.g. state=failed.");
    let after: ActivationCursor | undefined;
    if (q.cursor !== undefined && q.cursor !== '') {
      if (q.skip !== undefined && q.skip !== '') throw badRequest("The parameter 'cursor' is not permitted with 'skip'.");
      after = decodeCursor(q.cursor);
    }
    // A full page may have a next one: announced in headers, the body stays an array (OpenWhisk clients).
    const announce = (last: ActivationCursor | undefined) => {
      if (!last) return;
      const cursor = encodeCursor({ start: last.start, activationId: last.activationId });
      reply.header('Flare-Next-Cursor', cursor);
      reply.header('Link', `<${nextPageUrl(req.url, cursor)}>; rel="next"`);
    };
    if (states) {
      const listed = await listByState(store, { ...filter, ...(after ? { after } : {}), limit: p.limit, skip: p.skip }, states, docs, p.count, deadLetters ? retriesExhausted : undefined);
      if (!p.count) announce(listed.next);
      return listed.body;
    }
    if (p.count) return { activations: await store.countActivations(filter) };
    const page = await store.listActivations({ ...filter, ...(after ? { after } : {}), limit: p.limit, skip: p.skip }, docs);
    if (page.length === p.limit) announce(page[page.length - 1]);
    return page;
  });

  /** The record, after an optional wait; otherwise D2's 404, with the state fields while the activation is in flight. */
  const load = async (req: FastifyRequest<Req>, reply: FastifyReply): Promise<ActivationRecord> => {
    const ns = ownNamespace(req, req.params.namespace);
    const id = req.params.id;
    if (id.length !== 32) throw badRequest(`Activation id length is ${id.length} but must be 32.`);
    const wait = parseWait(req, reply);
    if (wait !== undefined) await waitForRecord(ctx, ns, id, wait, reply);
    const rec = await store.getActivation(ns, id);
    if (rec) return rec;
    const entry = await store.getInFlight(ns, id);
    // The record may have committed between the two reads.
    if (!entry) {
      const late = await store.getActivation(ns, id);
      if (late) return late;
    }
    throw new ApiError(404, Messages.activationNotFound, {}, entry ? inFlightFields(entry, await progressField(store, ns, id)) : undefined);
  };

  app.get<Req>('/api/v1/namespaces/:namespace/activations/:id', async (req, reply) => load(req, reply));

  app.get<Req>('/api/v1/namespaces/:namespace/activations/:id/result', async (req, reply) => {
    return (await load(req, reply)).response;
  });

  const followers = new LogFollowers({
    store,
    maxFollowers: ctx.config.logFollowersPerNamespace,
    lifetimeMs: streamLifetime(store, ctx.config.limits.timeoutMax, ctx.config.logFollowMarginMs),
  });

  const logsSchema = {
    tags: ['activations'],
    summary: "An activation's logs; with follow=true, live as server-sent events (or text/plain)",
    querystring: {
      type: 'object',
      properties: {
        follow: { type: 'string', description: 'true: stream the lines as they are written (text/event-stream or text/plain)' },
        from: { type: 'string', description: 'resume after this line number (as Last-Event-ID)' },
      },
    },
  };
  app.get<Req>('/api/v1/namespaces/:namespace/activations/:id/logs', { schema: logsSchema }, async (req, reply) => {
    // ?follow=true: live logs as server-sent events (src/live-logs/); otherwise OpenWhisk's answer, unchanged.
    if (req.query.follow !== undefined && parseBool(req.query.follow, 'follow')) {
      return followers.follow(req, reply, ownNamespace(req, req.params.namespace), req.params.id, req.query.from);
    }
    return { logs: (await load(req, reply)).logs };
  });
}
