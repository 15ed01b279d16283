// CLI errors: printed by main.ts as `Error: <message>` on stderr (or as doctl's JSON with -o json).
export class CliError extends Error {
  /** 1 for command errors, 255 for usage errors (doctl's os.Exit(-1)). */
  exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A usage error (bad arguments): exit 255 like doctl. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 255);
    this.name = 'UsageError';
  }
}

export const NOT_CONNECTED =
  'serverless support is installed but not connected to a functions namespace (use `flare connect`)';
