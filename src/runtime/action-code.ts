// Writes an action's code into its executor's code directory: a single source file, or an unpacked base64 zip
// (or, for Node, a tar.gz, as openwhisk-runtime-nodejs accepts).
// Returns the path the runner loads (as the runner sees it).
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { unzipSync } from 'fflate';
import { gunzipSync } from 'node:zlib';

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
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) unpackZip(bytes, hostDir);
    else if (bytes[0] === 0x1f && bytes[1] === 0x8b && family === 'nodejs') unpackTarGz(bytes, hostDir);
    else throw new CodeError(family === 'nodejs' ? 'The action code is not a zip or tar.gz archive.' : 'The action code is not a zip archive.');
    // Zips carry no reliable mode bits: a native `exec` is made executable (read-only code dir, so it stays so).
    if ((family === 'go' || family === 'blackbox') && existsSync(join(hostDir, 'exec'))) chmodSync(join(hostDir, 'exec'), 0o755);
    if (family === 'python') return { file: join(insideDir, '__main__.py'), binary: true };
    if (family === 'php') return { file: join(insideDir, 'index.php'), binary: true };
    return { file: insideDir, binary: true };
  }
  if (family === 'php') {
    writeFileSync(join(hostDir, 'index.php'), code);
    return { file: join(insideDir, 'index.php'), binary: false };
  }
  if (family === 'go') {
    writeFileSync(join(hostDir, 'main.go'), code);
    return { file: insideDir, binary: false };
  }
  if (family === 'blackbox') {
    // OpenWhisk's native skeleton also takes a plain script (with its #! line) as the executable.
    writeFileSync(join(hostDir, 'exec'), code, { mode: 0o755 });
    return { file: insideDir, binary: false };
  }
  if (family === 'python') {
    writeFileSync(join(hostDir, '__main__.py'), code);
    return { file: join(insideDir, '__main__.py'), binary: false };
  }
  const name = looksLikeEsm(code) ? 'action.mjs' : 'action.js';
  writeFileSync(join(hostDir, name), code);
  return { file: join(insideDir, name), binary: false };
}

function safeTarget(hostDir: string, name: string): string {
  const root = normalize(hostDir + sep);
  const target = normalize(join(hostDir, name));
  if (!target.startsWith(root)) throw new CodeError(`The action archive has an unsafe path: ${name}`);
  return target;
}

/** Regular files and directories of a (ustar/GNU/pax) tar.gz; links and devices are skipped. */
function unpackTarGz(bytes: Buffer, hostDir: string): void {
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED });
  } catch (e) {
    throw new CodeError(`The action archive could not be unpacked: ${(e as Error).message}`);
  }
  const str = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = parseInt(str(h.subarray(124, 136)).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = str(h.subarray(345, 500));
    let name = longName ?? (prefix ? `${prefix}/${str(h.subarray(0, 100))}` : str(h.subarray(0, 100)));
    longName = undefined;
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = str(data);
      continue;
    }
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m) longName = m[1];
      continue;
    }
    if (name.startsWith('./')) name = name.slice(2);
    if (!name || name === '.') continue;
    if (type === '5') mkdirSync(safeTarget(hostDir, name), { recursive: true });
    else if (type === '0' || type === '7') {
      const target = safeTarget(hostDir, name);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, data);
    }
  }
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
  for (const [name, data] of Object.entries(files)) {
    const target = safeTarget(hostDir, name);
    if (name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
  }
}
