// The log collector on its own: OpenWhisk line format, sentinels split across reads, limits and truncation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { LogCollector, SENTINEL, formatLogLine } from './log-collector.js';

function setup() {
  const out = new PassThrough();
  const err = new PassThrough();
  return { out, err, c: new LogCollector(out, err) };
}
const strip = (lines: string[]) => lines.map((l) => l.slice(31));

test('format: timestamp padded to 30 characters, then stream and line', () => {
  assert.equal(formatLogLine('2017-08-01T07:05:14.97495227Z', 'stderr', 'INFO x'), '2017-08-01T07:05:14.97495227Z  stderr: INFO x');
  assert.equal(formatLogLine('2022-05-13T15:13:11.580825656Z', 'stdout', 'Hello sammy'), '2022-05-13T15:13:11.580825656Z stdout: Hello sammy');
});

test('sentinels split across chunks end the activation; text before a glued sentinel is kept', async () => {
  const { out, err, c } = setup();
  c.begin(1024);
  out.write('hello\nwor');
  out.write('ld\npartial' + SENTINEL.slice(0, 10));
  out.write(SENTINEL.slice(10) + '\n');
  err.write(SENTINEL + '\n');
  assert.equal(await c.waitForEnd(1000), true);
  assert.deepEqual(strip(c.finish(true)), ['stdout: hello', 'stdout: world', 'stdout: partial']);
});

test('past the limit: lines dropped, truncation notice last, sentinel still found in a flood', async () => {
  const { out, err, c } = setup();
  c.begin(20);
  out.write('0123456789\n');
  out.write('abcdefghijklmnop\n');
  const flood = Buffer.alloc(256 * 1024, 'z');
  for (let i = 0; i < 8; i++) out.write(flood);
  out.write('\n' + SENTINEL.slice(0, 7));
  out.write(SENTINEL.slice(7) + '\n');
  err.write(SENTINEL + '\n');
  assert.equal(await c.waitForEnd(1000), true);
  const lines = strip(c.finish(true));
  assert.deepEqual(lines, ['stdout: 0123456789', 'stderr: Logs were truncated because the total bytes size exceeds the limit of 20 bytes.']);
  // The next activation collects normally again.
  c.begin(100);
  out.write('next\n' + SENTINEL + '\n');
  err.write(SENTINEL + '\n');
  assert.equal(await c.waitForEnd(1000), true);
  assert.deepEqual(strip(c.finish(true)), ['stdout: next']);
});

test('missing sentinels: the grace period ends collection with the notice', async () => {
  const { out, c } = setup();
  c.begin(100);
  out.write('only\n');
  assert.equal(await c.waitForEnd(50), false);
  assert.deepEqual(strip(c.finish(false)), ['stdout: only', 'stderr: There was an issue while collecting your logs. Data might be missing.']);
});
