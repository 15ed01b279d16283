// Scheduled-trigger cron expressions (doctl-cli.md §5.5): strict 5-field validation, then croner evaluates them (UTC).
import { Cron } from 'croner';

interface Field {
  min: number;
  max: number;
  /** Size of the field's full range: a step of `*\/n` must divide it. */
  size: number;
  names?: string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: Field[] = [
  { min: 0, max: 59, size: 60 }, // minute
  { min: 0, max: 23, size: 24 }, // hour
  { min: 1, max: 31, size: 31 }, // day of month
  { min: 1, max: 12, size: 12, names: MONTHS }, // month
  { min: 0, max: 7, size: 7, names: DAYS }, // day of week (7 = Sunday too)
];

export const cronError = (expr: string): string => `the cron expression '${expr}' is not valid crontab syntax`;

function value(text: string, f: Field): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= f.min && n <= f.max ? n : undefined;
  }
  const i = f.names?.indexOf(text.toUpperCase()) ?? -1;
  return i < 0 ? undefined : f === FIELDS[3] ? i + 1 : i;
}

function validItem(item: string, f: Field): boolean {
  const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
  if (!m) return false;
  const [, base, stepText] = m;
  const step = stepText === undefined ? undefined : Number(stepText);
  if (step !== undefined && step < 1) return false;
  if (base === '*') return step === undefined || (step <= f.size && f.size % step === 0);
  const range = /^([^-]+)-([^-]+)$/.exec(base!);
  if (range) {
    const a = value(range[1]!, f);
    const b = value(range[2]!, f);
    return a !== undefined && b !== undefined && a <= b && (step === undefined || step <= b - a + 1);
  }
  // A single value with a step (`5/10`) is not crontab syntax.
  return step === undefined && value(base!, f) !== undefined;
}

/** undefined when `expr` is a valid 5-field crontab expression, else the deployer's message. */
export function validateCron(expr: unknown): string | undefined {
  if (typeof expr !== 'string') return cronError(String(expr ?? ''));
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return cronError(expr);
  for (let i = 0; i < 5; i++) {
    const items = fields[i]!.split(',');
    if (items.some((it) => !validItem(it, FIELDS[i]!))) return cronError(expr);
  }
  try {
    new Cron(expr.trim(), { paused: true, mode: '5-part', timezone: 'UTC' }).stop();
  } catch {
    return cronError(expr);
  }
  return undefined;
}

/** A compiled schedule: the first run strictly after a moment (UTC). */
export class Schedule {
  private readonly cron: Cron;
  constructor(readonly expr: string) {
    this.cron = new Cron(expr.trim(), { paused: true, mode: '5-part', timezone: 'UTC' });
  }
  nextAfter(ms: number): number | undefined {
    return this.cron.nextRun(new Date(ms))?.getTime();
  }
  stop(): void {
    this.cron.stop();
  }
}
