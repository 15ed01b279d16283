// `flare serve`: runs the server (API and/or invoker role) until SIGINT/SIGTERM, then shuts down gracefully.
import type { Command } from 'commander';
import { loadConfig, printableConfig } from '../config.js';
import { startFlare } from '../server.js';
import { credentialsPath, ensureBootstrapConnection } from './credentials.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the Flare server')
    .option('--config <file>', 'YAML config file with the same settings as the flags (FLARE_CONFIG); flag > env > file > default')
    .option('--print-config', 'print the effective configuration (secrets masked) and exit')
    .option('--host <host>', 'address to listen on (FLARE_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (FLARE_PORT, default 3233; 0 picks a free port)')
    .option('--data-dir <dir>', 'data directory (FLARE_DATA_DIR, default ./.flare)')
    .option('--store <store>', 'sqlite (default) or a postgres:// URL (FLARE_STORE)')
    .option('--role <role>', 'all, api or invoker (FLARE_ROLE, default all)')
    .option('--sync-wait-ms <ms>', 'how long a blocking invoke waits before answering 202 (FLARE_SYNC_WAIT_MS, default 30000)')
    .option('--retention-hours <h>', 'how long activation records are kept (FLARE_RETENTION_HOURS, default 72)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (FLARE_LOG_LEVEL, default warn)')
    .option('--shutdown-grace-ms <ms>', 'on SIGTERM, how long running activations may finish (FLARE_SHUTDOWN_GRACE_MS, default 30000)')
    .action(async (opts) => {
      if (opts.printConfig) {
        process.stdout.write(printableConfig(opts, process.env));
        return;
      }
      const config = loadConfig(opts);
      const flare = await startFlare(config);
      const out = process.stdout;
      out.write(`Flare ${flare.version} (role: ${config.role}, store: ${flare.storeDescription})\n`);
      out.write(`Sandbox:   ${flare.sandbox}\n`);
      if (flare.bootstrap) {
        out.write(`Namespace: ${flare.bootstrap.namespace}\n`);
        out.write(`Auth key:  ${flare.bootstrap.auth}\n`);
      }
      out.write(`API host:  ${flare.url}\n`);
      // First start for a new user: make the bootstrap namespace the CLI's connection (never overwrites one).
      if (flare.bootstrap?.auth) {
        try {
          if (ensureBootstrapConnection(flare.url, flare.bootstrap.namespace, flare.bootstrap.auth)) {
            out.write(`CLI:       connected to namespace '${flare.bootstrap.namespace}' (${credentialsPath()})\n`);
          }
        } catch {
          // an unwritable config dir must not stop the server
        }
      }
      for (const line of flare.notices) out.write(`${line}\n`);
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        flare.drain();
        // Whatever hangs, the process ends: leases resolve anything left running, executors die with their sandbox.
        setTimeout(() => process.exit(0), config.shutdownGraceMs + 15_000).unref();
        await flare.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
