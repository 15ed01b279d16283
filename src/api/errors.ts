// OpenWhisk error bodies: {"error": "<message>", "code": "<transaction id>"}, and the standard messages.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Extra body fields after `error` and `code` (clients key on those two only). */
    readonly fields?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const Messages = {
  notFound: 'The requested resource does not exist.',
  activationNotFound:
    "The requested activation record does not exist. This either means that the invocation is still running and the record is not yet created or the activation's retention period has already expired.",
  authMissing: 'The resource requires authentication, which was not supplied with the request',
  authInvalid: 'The supplied authentication is invalid',
  notAuthorized: (fq: string) => `The supplied authentication is not authorized to access '${fq}'.`,
  conflict: 'Concurrent modification to resource detected.',
  exists: 'resource already exists',
  tooLarge: (n: number, max: number) => `Request larger than allowed: ${n} > ${max} bytes.`,
  fieldTooLarge: (field: string, n: number, max: number) => `${field} larger than allowed: ${n} > ${max} bytes.`,
  perMinute: (n: number, max: number) => `Too many requests in the last minute (count: ${n}, allowed: ${max}).`,
  concurrent: (n: number, max: number) => `Too many concurrent requests in flight (count: ${n}, allowed: ${max}).`,
  malformedQuery: (p: string, reason: string) => `The query parameter '${p}' was malformed:\n${reason}`,
  malformedBody: (reason: string) => `The request content was malformed:\n${reason}`,
  methodNotAllowed: 'HTTP method not allowed, supported methods: ',
  actionGone: 'Action could not be found or may have been deleted.',
  finalParams: 'Request defines parameters that are not allowed (e.g., reserved properties).',
  internal: 'An internal error occurred.',
  inactiveRule: (rule: string, action: string) => `Rule '${rule}' is inactive, action '${action}' was not activated.`,
} as const;

export const WWW_AUTHENTICATE = { 'WWW-Authenticate': 'Basic realm="OpenWhisk secure realm"' };

export const unauthorized = (missing: boolean) =>
  new ApiError(401, missing ? Messages.authMissing : Messages.authInvalid, WWW_AUTHENTICATE);
export const notFound = () => new ApiError(404, Messages.notFound);
export const badRequest = (msg: string) => new ApiError(400, msg);
