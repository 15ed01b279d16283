// Writes an action's code into its executor's code directory: a single source file, or an unpacked base64 zip.
// Returns the path the runner loads (as the runner sees it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { unzipSync } from 'fflate';

/** Refuse archives that would unpack to more than this (zip bombs). */
const MAX_UNPACKED = 512 * 1024 * 1024;

export class CodeError extends Error {}

function looksLikeEsm(code: string): boolean {
  return /^\s*(import\s*[\w{*'"]|export\s+(default|async|function|const|let|var|class|\{|\*))/m.test(code);
}

export function writeActionCode(
  family: string,
  code: string,
  binary: boolean,
  hostDir: string,
  insideDir: string,
): { file: string; binary: boolean } {
  if (binary) {
    const bytes = Buffer.from(code, 'base64');
    if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
      throw new CodeError('The action code is not a zip archive.');
    }
    unpackZip(bytes, hostDir);
    return { file: family === 'python' ? join(insideDir, '__main__.py') : insideDir, binary: true };
  }
  if (family === 'python') {
    writeFileSync(join(hostDir, '__main__.py'), code);
    return { file: join(insideDir, '__main__.py'), binary: false };
  }
  const name = looksLikeEsm(code) ? 'action.mjs' : 'action.js';
  writeFileSync(join(hostDir, name), code);
  return { file: join(insideDir, name), binary: false };
}

function unpackZip(bytes: Buffer, hostDir: string): void {
  let total = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), {
      filter: (f) => {
        total += f.originalSize;
        if (total > MAX_UNPACKED) throw new CodeError('The action archive unpacks to more than 512 MB.');
        return true;
      },
    });
  } catch (e) {
    if (e instanceof CodeError) throw e;
    throw new CodeError(`The action archive could not be unpacked: ${(e as Error).message}`);
  }
  const root = normalize(hostDir + sep);
  for (const [name, data] of Object.entries(files)) {
    const target = normalize(join(hostDir, name));
    if (!target.startsWith(root)) throw new CodeError(`The action archive has an unsafe path: ${name}`);
    if (name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
  }
}
