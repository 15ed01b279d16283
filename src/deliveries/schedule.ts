// When a failed callback is tried again (run-control §4.6): Svix's schedule by default — now, 5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h, 10 h — each delay ±10 % jitter; a Retry-After on 429/503 replaces the step's delay (at most the
// schedule's longest step). A test-only time scale shrinks every delay.

/** Seconds after the previous attempt, first entry the first attempt (0 = at once). */
export const SVIX_SCHEDULE_S = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

export interface ScheduleOptions {
  /** Delays in ms, the first being the first attempt's (normally 0). */
  delaysMs: number[];
  /** Multiplies every delay (tests: 0.01 turns 5 min into 3 s). */
  timeScale: number;
  /** Random source for the jitter (tests may pin it). */
  random?: () => number;
}

/** Parses a comma list of seconds (FLARE_WEBHOOK_SCHEDULE); throws on anything else. */
export function parseSchedule(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') return SVIX_SCHEDULE_S.map((s) => s * 1000);
  const parts = text.split(',').map((s) => s.trim());
  const secs = parts.map(Number);
  if (secs.length === 0 || secs.some((s, i) => parts[i] === '' || !Number.isFinite(s) || s < 0)) {
    throw new Error(`invalid webhook schedule: ${text} (a comma list of seconds, e.g. 0,5,300)`);
  }
  return secs.map((s) => Math.round(s * 1000));
}

export class RetrySchedule {
  private readonly random: () => number;

  constructor(private readonly o: ScheduleOptions) {
    this.random = o.random ?? Math.random;
  }

  /** How many attempts one schedule run makes. */
  get attempts(): number {
    return this.o.delaysMs.length;
  }

  /**
   * The delay before the attempt after `step` (0-based) failed, or undefined when the schedule is exhausted.
   * `retryAfterMs` (from the receiver) replaces the scheduled delay, capped at the longest step.
   */
  delayAfter(step: number, retryAfterMs?: number): number | undefined {
    const next = step + 1;
    if (next >= this.o.delaysMs.length) return undefined;
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, Math.max(...this.o.delaysMs)) * this.o.timeScale;
    const base = this.o.delaysMs[next]!;
    return base * (0.9 + 0.2 * this.random()) * this.o.timeScale;
  }
}

/** Retry-After as ms: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
