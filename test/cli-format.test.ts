// Unit tests of the CLI's pure formatting: tabwriter tables, dates (D8), banners, JSON views, params, log strip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activationFunctionName,
  activationRecordView,
  actionFullName,
  actionPath,
  actionView,
  bannerText,
  longDate,
  parseParams,
  renderColumns,
  renderTable,
  shortDate,
  sortKeysDeep,
  statusWord,
  stripLogLine,
} from '../src/cli/format.js';
import { ACTIVATION_COLUMNS, type Activation } from '../src/cli/activations-commands.js';
import { demotionText, kindForFile, functionUrl, buildActionBody } from '../src/cli/functions-commands.js';
import { languagesText, matchConnection } from '../src/cli/connect-commands.js';

const local = (y: number, mo: number, d: number, h: number, mi: number, s: number) => new Date(y, mo - 1, d, h, mi, s).getTime();

test('dates are 24-hour local MM/DD HH:mm:ss and YYYY-MM-DD HH:mm:ss (D8)', () => {
  assert.equal(shortDate(local(2024, 2, 1, 14, 30, 2)), '02/01 14:30:02');
  assert.equal(shortDate(local(2024, 12, 31, 0, 5, 9)), '12/31 00:05:09');
  assert.equal(longDate(local(2024, 2, 1, 14, 30, 2)), '2024-02-01 14:30:02');
});

test('status words follow the top-level statusCode', () => {
  assert.deepEqual([0, 1, 2, 3, 7, undefined].map(statusWord), [
    'success',
    'application error',
    'developer error',
    'system error',
    'unknown',
    'unknown',
  ]);
});

test('the activations table matches the spec example byte for byte (tabwriter, padding 4)', () => {
  const rows: Activation[] = [
    {
      activationId: 'b68492d6875840148492d687586014f5',
      start: local(2024, 2, 1, 12, 33, 17),
      duration: 1204,
      statusCode: 0,
      version: '0.0.12',
      name: 'sample/hello',
      annotations: [
        { key: 'path', value: 'fn-x/sample/hello' },
        { key: 'kind', value: 'nodejs:20' },
        { key: 'waitTime', value: 312 },
        { key: 'initTime', value: 40 },
      ],
    },
    {
      activationId: '0870c85762594431b0c85762594431c2',
      start: local(2024, 2, 1, 14, 30, 2),
      duration: 3001,
      statusCode: 2,
      version: '0.0.3',
      name: 'cleanup',
      annotations: [
        { key: 'path', value: 'fn-x/cron/cleanup' },
        { key: 'kind', value: 'python:3.11' },
        { key: 'waitTime', value: 8 },
      ],
    },
  ];
  const expected =
    'Datetime          Status             Kind           Version    Activation ID                       Start    Wait    Duration    Function\n' +
    '02/01 12:33:17    success            nodejs:20      0.0.12     b68492d6875840148492d687586014f5    cold     312     1204ms      sample/hello\n' +
    '02/01 14:30:02    developer error    python:3.11    0.0.3      0870c85762594431b0c85762594431c2    warm     8       3001ms      cron/cleanup\n';
  assert.equal(renderColumns(rows, ACTIVATION_COLUMNS), expected);
  // --format picks and orders columns by key; --no-header drops the header row.
  assert.equal(
    renderColumns(rows, ACTIVATION_COLUMNS, 'ActivationID,Status', false),
    'b68492d6875840148492d687586014f5    success\n0870c85762594431b0c85762594431c2    developer error\n',
  );
  assert.throws(() => renderColumns(rows, ACTIVATION_COLUMNS, 'Nope'), /unknown column "Nope"/);
  // A missing waitTime prints doctl's <nil>.
  assert.match(renderColumns([{ activationId: 'a', annotations: [] }], ACTIVATION_COLUMNS, 'Wait', false), /^<nil>\n$/);
});

test('renderTable never pads the last column', () => {
  assert.equal(renderTable([['a', 'bb'], ['ccc', 'd']]), 'a      bb\nccc    d\n');
});

test('the banner uses the end time and pkg/name from the path annotation (D8)', () => {
  const rec = {
    activationId: 'b68492d6875840148492d687586014f5',
    statusCode: 0,
    start: local(2024, 2, 1, 12, 33, 15),
    end: local(2024, 2, 1, 12, 33, 17),
    version: '0.0.12',
    name: 'hello',
    annotations: [{ key: 'path', value: 'fn-1/hello' }],
  };
  assert.equal(bannerText(rec), '=== b68492d6875840148492d687586014f5 success 02/01 12:33:17 hello:0.0.12');
  const pkg = { ...rec, name: 'sample/hello', annotations: [{ key: 'path', value: 'fn-1/sample/hello' }] };
  assert.equal(bannerText(pkg), '=== b68492d6875840148492d687586014f5 success 02/01 12:33:17 sample/hello:0.0.12');
  assert.equal(activationFunctionName({ name: 'bare' }), 'bare');
});

test('activations get JSON: doctl field order, both statusCodes, null logs/annotations, date', () => {
  const rec = {
    annotations: undefined,
    response: { result: { z: 1, body: 'Hello stranger!' }, success: true, statusCode: 0, status: 'success', size: 30 },
    statusCode: 0,
    duration: 2002,
    end: 1692623024056,
    start: 1692623022053,
    activationId: 'b68492d6875840148492d687586014f5',
    subject: 's',
    version: '0.0.1',
    name: 'sample/hello',
    namespace: 'fn-1',
  };
  const view = activationRecordView(rec);
  assert.deepEqual(Object.keys(view), [
    'namespace', 'name', 'version', 'subject', 'activationId', 'start', 'end', 'duration', 'statusCode', 'response', 'logs', 'annotations', 'date',
  ]);
  assert.deepEqual(Object.keys(view.response as object), ['status', 'statusCode', 'success', 'result']);
  assert.deepEqual(Object.keys((view.response as { result: object }).result), ['body', 'z']);
  assert.equal(view.logs, null);
  assert.equal(view.annotations, null);
  assert.equal(view.date, longDate(1692623022053));
});

test('functions get JSON keeps doctl struct order', () => {
  const view = actionView({
    updated: 5,
    publish: false,
    limits: { memory: 256, timeout: 1, logs: 10, concurrency: 1 },
    parameters: [],
    annotations: [{ key: 'exec', value: 'nodejs:20' }],
    exec: { binary: false, kind: 'nodejs:20' },
    version: '0.0.1',
    name: 'hello',
    namespace: 'ns/sample',
  });
  assert.deepEqual(Object.keys(view), ['namespace', 'name', 'version', 'exec', 'annotations', 'parameters', 'limits', 'publish', 'updated']);
  assert.deepEqual(Object.keys(view.exec as object), ['kind', 'binary']);
  assert.deepEqual(Object.keys(view.limits as object), ['timeout', 'memory', 'logs', 'concurrency']);
  assert.equal(actionFullName({ namespace: 'ns/sample', name: 'hello' }), 'sample/hello');
  assert.equal(actionFullName({ namespace: 'ns', name: 'hello' }), 'hello');
});

test('sortKeysDeep sorts like Go maps', () => {
  assert.equal(JSON.stringify(sortKeysDeep({ b: 1, a: { d: [{ y: 1, x: 2 }], c: 0 } })), '{"a":{"c":0,"d":[{"x":2,"y":1}]},"b":1}');
});

test('-p params: repeatable, comma-separated, value after the first colon, always strings', () => {
  assert.deepEqual(parseParams(['name:Sammy', 'a:1,b:x:y']), { name: 'Sammy', a: '1', b: 'x:y' });
  assert.throws(() => parseParams(['novalue']), /values for --params must have KEY:VALUE form/);
});

test('log lines strip through the first ": " after the stream', () => {
  assert.equal(stripLogLine('2022-05-13T15:13:11.580825656Z stdout: Hello sammy: hi'), 'Hello sammy: hi');
  assert.equal(stripLogLine('2017-08-01T07:05:14.97495227Z  stderr: INFO'), 'INFO');
  assert.equal(stripLogLine('plain line'), 'plain line');
});

test('the demotion message is doctl text with trailing spaces and a final empty line', () => {
  assert.equal(
    demotionText('abc'),
    'Request accepted, but processing not completed yet. \nAll functions invocation >= 30s will get demoted to an asynchronous invocation. Use --no-wait flag to immediately return the activation id. \n\nUse this command to view the results.\nflare activations result abc\n\n',
  );
});

test('function URLs, kinds from file names, action paths', () => {
  const web = { namespace: 'ns/sample', name: 'hello', annotations: [{ key: 'web-export', value: true }] };
  assert.equal(functionUrl('http://h:1/', 'ns', web), 'http://h:1/api/v1/web/ns/sample/hello');
  assert.equal(functionUrl('http://h:1', 'ns', { namespace: 'ns', name: 'x', annotations: [] }), 'http://h:1/api/v1/namespaces/ns/actions/x');
  assert.equal(functionUrl('http://h:1', 'ns', { namespace: 'ns', name: 'x', annotations: [{ key: 'web-export', value: true }] }), 'http://h:1/api/v1/web/ns/default/x');
  assert.equal(kindForFile('a/hello.js'), 'nodejs:default');
  assert.equal(kindForFile('hello.py'), 'python:default');
  assert.equal(kindForFile('hello.nodejs-20.zip'), 'nodejs:20');
  assert.equal(kindForFile('hello.zip'), undefined);
  assert.equal(actionPath('sample/hello'), 'sample/hello');
  assert.equal(actionPath('/ns/sample/hello'), 'sample/hello');
  assert.throws(() => buildActionBody('/nonexistent/x.js', {}, 'create'), /does not exist/);
});

test('status --languages block', () => {
  const text = languagesText({
    nodejs: [{ kind: 'nodejs:20', default: true }, { kind: 'nodejs:14', deprecated: true, default: true }],
    python: [{ kind: 'python:3.11', default: true }],
  });
  assert.equal(
    text,
    'Supported Languages:\nnodejs:\n  Keywords: javascript, js, typescript, ts\n  Runtime versions:\n    nodejs:20 (nodejs:default)\n    nodejs:14 (deprecated)\npython:\n  Keywords: python, py\n  Runtime versions:\n    python:3.11 (python:default)\n',
  );
});

test('connect <hint> matches exact namespace/label first, then a unique substring', () => {
  const conns = [
    { apihost: 'h', namespace: 'fn-abc', auth: 'a' },
    { apihost: 'h', namespace: 'fn-abcd', auth: 'b', label: 'prod' },
  ];
  assert.equal(matchConnection(conns, 'fn-abc').length, 1);
  assert.equal(matchConnection(conns, 'prod')[0]!.namespace, 'fn-abcd');
  assert.equal(matchConnection(conns, 'abc').length, 2);
  assert.equal(matchConnection(conns, 'zzz').length, 0);
});

test('the spinner draws only when enabled (a TTY) and erases itself', async () => {
  const { startSpinner } = await import('../src/cli/spinner.js');
  let written = '';
  const stream = { write: (s: string) => ((written += s), true), isTTY: true } as unknown as NodeJS.WriteStream;
  startSpinner(stream, false).stop();
  assert.equal(written, '');
  const sp = startSpinner(stream, true);
  await new Promise((r) => setTimeout(r, 250));
  sp.stop();
  assert.ok(written.split('\r').length >= 3, JSON.stringify(written));
  assert.ok(written.endsWith('\r  \r'));
});
