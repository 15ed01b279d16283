// The server's logger: pino JSON lines to stderr, or pino-pretty's readable lines when stderr is a terminal
// (FLARE_LOG_FORMAT=json|pretty overrides the guess).
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export function createLogger(level: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const format = env.FLARE_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format === 'pretty') return pino({ level }, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname' }));
  return pino({ level }, pino.destination(2));
}
