// HTTP request metrics by route template (bounded: never the raw URL) and status.
import type { FastifyInstance } from 'fastify';
import type { FlareMetrics } from './metrics.js';

export function instrumentHttp(app: FastifyInstance, metrics: FlareMetrics): void {
  app.addHook('onResponse', (req, reply, done) => {
    // Unmatched URLs (404s, scanners) share one label.
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequest(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
