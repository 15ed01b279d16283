// Scheduled-trigger cron rules (doctl-cli.md §5.5) and croner evaluation in UTC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Schedule, validateCron } from '../src/scheduler/cron.js';

test('valid 5-field expressions: lists, ranges, steps that divide the range, month and day names', () => {
  for (const c of ['* * * * *', '*/5 * * * *', '*/15 */6 * * *', '0 3 * * MON-FRI', '0 0 1 JAN,JUL *', '1-5,30 0-12/3 1-15 * sun', '0 0 * * 7', '59 23 31 12 6']) {
    assert.equal(validateCron(c), undefined, c);
  }
});

test('invalid expressions get the deployer message', () => {
  for (const c of ['*/7 * * * *', '* */5 * * *', '0 0 */2 * *', '* * * * * *', '* * * *', '@daily', '@every 5m', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 8', '5/10 * * * *', '5-1 * * * *', '0 0 L * *', '0 0 ? * *', 'x * * * *', '']) {
    assert.equal(validateCron(c), `the cron expression '${c}' is not valid crontab syntax`, c);
  }
  assert.equal(validateCron(undefined), "the cron expression '' is not valid crontab syntax");
});

test('croner evaluates in UTC, strictly after the given moment', () => {
  const s = new Schedule('30 2 * * MON');
  try {
    // 2030-01-07 is a Monday.
    assert.equal(s.nextAfter(Date.UTC(2030, 0, 6, 23, 0)), Date.UTC(2030, 0, 7, 2, 30));
    assert.equal(s.nextAfter(Date.UTC(2030, 0, 7, 2, 30)), Date.UTC(2030, 0, 14, 2, 30));
  } finally {
    s.stop();
  }
});
