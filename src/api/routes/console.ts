// Serves the built web console (dist/console) under /console/: hashed assets with a long cache, and index.html for
// /console, /console/ and any other path below it (the app routes on the client).
import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';

export interface ConsoleOptions {
  distDir: string;
}

// The console only ever talks to its own origin; nothing is loaded from elsewhere.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

function notFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).type('application/json').send({ error: 'The requested resource does not exist.', code: String(req.id) });
}

export async function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const { distDir } = opts;
  if (!existsSync(join(distDir, 'index.html'))) {
    // A source checkout without `npm run build`: say so instead of a bare 404.
    const unbuilt = async (req: FastifyRequest, reply: FastifyReply) =>
      reply.code(503).type('application/json').send({
        error: 'The web console is not built. Run `npm run build` and restart the server.',
        code: String(req.id),
      });
    app.get('/console', unbuilt);
    app.get('/console/*', unbuilt);
    return;
  }

  await app.register(fastifyStatic, {
    root: distDir,
    prefix: '/console/',
    // One route per built file; other paths fall through to the SPA handler below.
    wildcard: false,
    index: false,
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      // Vite puts a content hash in every asset name, so they never change under the same URL.
      const hashed = relative(distDir, path).split(sep)[0] === 'assets';
      res.setHeader('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });

  const sendIndex = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply
      .header('Cache-Control', 'no-cache')
      .header('Content-Security-Policy', CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer');
    return reply.sendFile('index.html', distDir);
  };
  app.get('/console', sendIndex);
  app.get('/console/', sendIndex);
  app.get('/console/*', async (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    // A missing asset is a real 404 (a stale page asking for an old bundle), not the app.
    if (rest.startsWith('assets/') || /\.(js|css|map|png|svg|ico|json|txt|woff2?)$/.test(rest)) return notFound(req, reply);
    return sendIndex(req, reply);
  });
}
