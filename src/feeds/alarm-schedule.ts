// The /whisk.system/alarms feed's schedules (issue 14): `alarm` (cron, 5 or 6 fields with seconds), `interval`
// (every N minutes) and `once` (one date), each bounded by startDate/stopDate, evaluated in UTC.
import { Cron } from 'croner';

export const ALARM_KIND = 'alarm' as const;
export type AlarmType = 'alarm' | 'interval' | 'once';

export interface AlarmDoc {
  /** The trigger's namespace and name: one alarm per trigger. */
  namespace: string;
  name: string;
  type: AlarmType;
  cron?: string;
  minutes?: number;
  date?: number;
  startDate?: number;
  stopDate?: number;
  /** Fired as the trigger's payload. */
  payload: Record<string, unknown>;
  /** false | true (delete the trigger after the last fire) | 'rules' (and its rules). */
  deleteAfterFire: boolean | 'rules';
  active: boolean;
  created: number;
  updated: number;
  lastFired?: number;
}

export class AlarmError extends Error {}

function parseDate(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const ms = typeof v === 'number' ? v : Date.parse(String(v));
  if (!Number.isFinite(ms)) throw new AlarmError(`${what} is not a valid date`);
  return ms;
}

/** The alarm's schedule fields from feed parameters; throws AlarmError with a message for the caller. */
export function alarmFields(type: AlarmType, p: Record<string, unknown>, now: number): Pick<AlarmDoc, 'cron' | 'minutes' | 'date' | 'startDate' | 'stopDate' | 'payload' | 'deleteAfterFire'> {
  const out: ReturnType<typeof alarmFields> = { payload: {}, deleteAfterFire: false };
  if (p.trigger_payload !== undefined) {
    const tp = typeof p.trigger_payload === 'string' ? safeJson(p.trigger_payload) : p.trigger_payload;
    if (!tp || typeof tp !== 'object' || Array.isArray(tp)) throw new AlarmError('trigger_payload must be a JSON object');
    out.payload = tp as Record<string, unknown>;
  }
  const daf = String(p.deleteAfterFire ?? 'false').toLowerCase();
  out.deleteAfterFire = daf === 'rules' ? 'rules' : daf === 'true';
  const start = parseDate(p.startDate, 'startDate');
  const stop = parseDate(p.stopDate, 'stopDate');
  if (start !== undefined) out.startDate = start;
  if (stop !== undefined) out.stopDate = stop;
  if (start !== undefined && stop !== undefined && stop <= start) throw new AlarmError('stopDate must be after startDate');
  if (type === 'alarm') {
    if (typeof p.cron !== 'string' || !p.cron.trim()) throw new AlarmError('alarms trigger feed is missing the cron parameter');
    const fields = p.cron.trim().split(/\s+/).length;
    if (fields !== 5 && fields !== 6) throw new AlarmError(`cron pattern '${p.cron}' is not valid`);
    try {
      new Cron(p.cron.trim(), { paused: true, timezone: 'UTC' }).stop();
    } catch {
      throw new AlarmError(`cron pattern '${p.cron}' is not valid`);
    }
    out.cron = p.cron.trim();
  } else if (type === 'interval') {
    const m = Number(p.minutes);
    if (!Number.isInteger(m) || m < 1) throw new AlarmError('the minutes parameter must be an integer of at least 1');
    out.minutes = m;
  } else {
    const d = parseDate(p.date, 'date');
    if (d === undefined) throw new AlarmError('alarms once trigger feed is missing the date parameter');
    if (d <= now) throw new AlarmError('date parameter must be in the future');
    out.date = d;
  }
  return out;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** The first fire strictly after `from`, or undefined when the alarm has no fire left. */
export function nextFire(a: AlarmDoc, from: number): number | undefined {
  let due: number | undefined;
  if (a.type === 'once') due = a.date! > from ? a.date : undefined;
  else if (a.type === 'interval') {
    const period = a.minutes! * 60_000;
    // From startDate when given, else the first fire is one interval after creation.
    const base = a.startDate ?? a.created + period;
    const k = from < base ? 0 : Math.floor((from - base) / period) + 1;
    due = base + k * period;
  } else {
    const after = a.startDate !== undefined ? Math.max(from, a.startDate - 1) : from;
    const c = new Cron(a.cron!, { paused: true, timezone: 'UTC' });
    due = c.nextRun(new Date(after))?.getTime();
    c.stop();
  }
  if (due !== undefined && a.stopDate !== undefined && due > a.stopDate) return undefined;
  return due;
}

/** No fire can come after this one: the alarm is done (and deleteAfterFire applies). */
export function isLastFire(a: AlarmDoc, due: number): boolean {
  return a.type === 'once' || nextFire(a, due) === undefined;
}
