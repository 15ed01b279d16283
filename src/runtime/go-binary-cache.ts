// Go binaries built on this node, cached by digest (namespace + kind + code), so a Go action compiles once per
// action version and node and later cold starts only link the binary into the executor's code directory.
// The namespace is part of the digest: a binary is only ever reused for code of the namespace that built it.
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';

/** Largest binary kept (a Go hello world is ~2 MB; anything this big is not a sane action). */
const MAX_BINARY = 256 * 1024 * 1024;

export class GoBinaryCache {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
  }

  /**
   * Readies the code directory of a Go action: a prebuilt `exec` in the zip is used as is; a cached build is linked
   * in as `exec`. `cached: false` means the runner must compile.
   */
  prepare(namespace: string, kind: string, code: string, codeDirHost: string): { digest: string; cached: boolean } | undefined {
    const exec = join(codeDirHost, 'exec');
    if (existsSync(exec)) return undefined;
    const digest = createHash('sha256').update(namespace).update('\0').update(kind).update('\0').update(code).digest('hex');
    const cached = join(this.dir, digest);
    if (!existsSync(cached)) return { digest, cached: false };
    try {
      linkSync(cached, exec);
    } catch {
      copyFileSync(cached, exec); // another filesystem (executors in the system temp dir)
    }
    return { digest, cached: true };
  }

  /** Keeps the binary a build left in the executor's out directory (a regular file, never a link). */
  store(digest: string, outDirHost: string): void {
    const built = join(outDirHost, 'exec');
    try {
      const st = lstatSync(built);
      if (!st.isFile() || st.size > MAX_BINARY) return;
      const tmp = join(this.dir, `.${digest}.${randomBytes(4).toString('hex')}`);
      copyFileSync(built, tmp);
      // Owned by root, read+execute for the executor uids, never writable by them.
      renameSync(tmp, join(this.dir, digest));
    } catch {
      /* not cached: the next cold start compiles again */
    }
  }

  clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
