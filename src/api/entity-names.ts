// Entity names and paths (§0): `\A([\w]|[\w][\w@ .&-]{0,254}[\w@.&-])\z`, packages do not nest.
import { badRequest } from './errors.js';

const NAME = /^(?:\w|\w[\w@ .&-]{0,254}[\w@.&-])$/;

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export function checkName(name: string): string {
  if (!isValidName(name)) throw badRequest(`The request content was malformed:\nName '${name}' is not a valid entity name.`);
  return name;
}

/** "pkg/name" or "name" → {pkg?, name}; validates both segments. */
export function splitActionPath(path: string): { pkg?: string; name: string } {
  const parts = path.split('/');
  if (parts.length === 1) return { name: checkName(parts[0]!) };
  if (parts.length === 2) return { pkg: checkName(parts[0]!), name: checkName(parts[1]!) };
  throw badRequest(`The request content was malformed:\nName '${path}' is not a valid entity name.`);
}
