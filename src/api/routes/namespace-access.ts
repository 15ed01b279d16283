// Namespace authorization for entity routes: `_` is the caller's namespace; any other namespace is refused (403).
import type { FastifyRequest } from 'fastify';
import { ApiError, Messages } from '../errors.js';

export function ownNamespace(req: FastifyRequest, nsParam: string, path?: string): string {
  const ns = nsParam === '_' ? req.identity.namespace : nsParam;
  if (ns !== req.identity.namespace) throw new ApiError(403, Messages.notAuthorized(path ? `${ns}/${path}` : ns));
  return ns;
}
