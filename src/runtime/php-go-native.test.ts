// Real php:8.2, go and blackbox functions in real sandboxes, through the Runtime contract: results, logs, errors,
// zips with dependencies, limits, hostile code, and the Go digest cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { zipSync, strToU8 } from 'fflate';
import { testRuntime, action, request, logText, type TestRuntime } from './test-helpers.js';
import { goKind } from '../kinds.js';

let t: TestRuntime;
before(async () => {
  t = await testRuntime();
});
after(async () => {
  await t.close();
});

const GO = goKind() ?? 'go:1.19';
const zip = (files: Record<string, string | Uint8Array>) =>
  Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? strToU8(v) : v])))).toString('base64');
const php = (code: string, opts: Parameters<typeof action>[1] = {}) => action(code, { kind: 'php:8.2', ...opts });

test('php: hello, params, logs, init env, context, warm reuse', async () => {
  const a = php(`<?php
function main(array $args): array {
  echo "hello " . ($args['name'] ?? 'x') . "\\n";
  fwrite(STDERR, "warn\\n");
  return ['greeting' => 'Hello ' . ($args['name'] ?? 'stranger'), 'env' => getenv('GREETING'), 'act' => getenv('__OW_ACTIVATION_ID')];
}`);
  const r = request(a, { name: 'sammy' }, { env: { GREETING: 'hi' } });
  const o = await t.rt.run(r);
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.deepEqual(o.result, { greeting: 'Hello sammy', env: 'hi', act: r.activationId });
  assert.deepEqual(logText(o).sort(), ['stderr: warn', 'stdout: hello sammy']);
  assert.equal(typeof o.initTime, 'number');
  const w = await t.rt.run(request(a, {}));
  assert.equal(w.initTime, undefined);
  assert.equal(w.executor, 'warm');
  const c = await t.rt.run(request(php(`<?php
function main(array $event, $context): array { return ['fn' => $context->functionName, 'left' => $context->getRemainingTimeInMillis() > 0]; }`, { name: 'ctx' })));
  assert.deepEqual(c.result, { fn: '/guest/ctx', left: true });
});

test('php: errors map to statusCode 1 and 2', async () => {
  const cases: Array<[string, number, RegExp]> = [
    [`<?php function main(array $a): array { return ['error' => 'bad']; }`, 1, /bad/],
    [`<?php function main(array $a): array { throw new Exception('nope'); }`, 1, /nope/],
    [`<?php function main(array $a) { exit(3); }`, 2, /exited unexpectedly/],
    [`<?php function main(array $a { }`, 2, /^Initialization has failed due to: .*ParseError/],
    [`<?php function other() {}`, 2, /entrypoint 'main' is not a function/],
  ];
  for (const [code, status, re] of cases) {
    const o = await t.rt.run(request(php(code)));
    assert.equal(o.statusCode, status, `${code}: ${JSON.stringify(o.result)}`);
    assert.match((o.result as { error: string }).error, re);
  }
});

test('php: zip with a Composer vendor/ autoloader', async () => {
  const code = zip({
    'index.php': `<?php use Acme\\Greeter; function main(array $a): array { return ['msg' => Greeter::greet($a['name'] ?? 'x')]; }`,
    'vendor/autoload.php': `<?php spl_autoload_register(function ($c) { $f = __DIR__ . '/acme/src/' . str_replace('Acme\\\\', '', $c) . '.php'; if (is_file($f)) require $f; });`,
    'vendor/acme/src/Greeter.php': `<?php namespace Acme; class Greeter { static function greet($n) { return "Hi $n"; } }`,
  });
  const o = await t.rt.run(request(php(code, { binary: true }), { name: 'z' }));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.deepEqual(o.result, { msg: 'Hi z' });
});

test('php: timeout, memory bomb, fork bomb, data dir, then an ordinary function answers', async () => {
  const loop = await t.rt.run(request(php(`<?php function main(array $a): array { while (true) {} }`, { limits: { timeout: 500 } })));
  assert.equal(loop.statusCode, 2);
  assert.equal(loop.timeout, true);
  const mem = await t.rt.run(request(php(`<?php function main(array $a): array { $x = []; while (true) { $x[] = str_repeat('x', 1 << 20); } }`, { limits: { memory: 128 } })));
  assert.equal(mem.statusCode, 2);
  assert.equal((mem.result as { error: string }).error, 'The action exhausted its memory and was aborted.');
  if (t.rt.sandbox.isolated) {
    const fork = await t.rt.run(request(php(`<?php function main(array $a): array { $n = 0; for ($i = 0; $i < 2000; $i++) { $p = pcntl_fork(); if ($p === 0) { sleep(30); exit(0); } if ($p > 0) $n++; } return ['forked' => $n]; }`, { limits: { timeout: 2000 } })));
    assert.ok(fork.statusCode !== 0 || (fork.result as { forked: number }).forked < 300, JSON.stringify(fork.result));
    const peek = await t.rt.run(request(php(`<?php function main(array $a): array { return ['data' => @scandir(${JSON.stringify(t.dataDir)}) ?: null, 'shadow' => @file_get_contents('/etc/shadow') ?: null]; }`)));
    assert.deepEqual(peek.result, { data: null, shadow: null });
  }
  const ok = await t.rt.run(request(php(`<?php function main(array $a): array { return ['ok' => true]; }`, { namespace: 'other' })));
  assert.deepEqual(ok.result, { ok: true });
});

test('blackbox: exec gets params in argv[1], last stdout line is the result', async () => {
  const script = '#!/bin/sh\necho "log line"\necho "err line" >&2\necho "{\\"args\\": $1}"\n';
  const o = await t.rt.run(request(action(zip({ exec: script }), { kind: 'blackbox', binary: true }), { n: 1 }));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.deepEqual(o.result, { args: { n: 1 } });
  assert.deepEqual(logText(o).sort(), ['stderr: err line', 'stdout: log line']);
  const err = await t.rt.run(request(action('#!/bin/sh\necho \'{"error":"bad"}\'\n', { kind: 'blackbox' })));
  assert.equal(err.statusCode, 1);
  const crash = await t.rt.run(request(action('#!/bin/sh\necho oops\nexit 3\n', { kind: 'blackbox' })));
  assert.equal(crash.statusCode, 2);
  assert.match((crash.result as { error: string }).error, /exited unexpectedly/);
  const missing = await t.rt.run(request(action(zip({ 'other.txt': 'x' }), { kind: 'blackbox', binary: true })));
  assert.equal(missing.statusCode, 2);
  assert.match((missing.result as { error: string }).error, /exec/);
  const loop = await t.rt.run(request(action('#!/bin/sh\nwhile :; do :; done\n', { kind: 'blackbox', limits: { timeout: 500 } })));
  assert.equal(loop.timeout, true);
  if (t.rt.sandbox.isolated) {
    const mem = await t.rt.run(request(action('#!/usr/bin/python3\nx=[]\nwhile True: x.append(bytearray(1<<20))\n', { kind: 'blackbox', limits: { memory: 128 } })));
    assert.equal((mem.result as { error: string }).error, 'The action exhausted its memory and was aborted.');
    const fork = await t.rt.run(request(action('#!/bin/bash\nb(){ b|b& }; b\n', { kind: 'blackbox', limits: { timeout: 2000 } })));
    assert.equal(fork.statusCode, 2);
    const peek = await t.rt.run(request(action(`#!/bin/sh\nls ${t.dataDir} >/dev/null 2>&1 && echo '{"leak":true}' || echo '{"leak":false}'\n`, { kind: 'blackbox' })));
    assert.deepEqual(peek.result, { leak: false });
  }
});

const GO_HELLO = `package main

import "fmt"

func Main(args map[string]interface{}) map[string]interface{} {
	name, ok := args["name"].(string)
	if !ok {
		name = "stranger"
	}
	fmt.Println("hello", name)
	if name == "fail" {
		return map[string]interface{}{"error": "bad"}
	}
	if name == "crash" {
		panic("boom")
	}
	if name == "loop" {
		for {
		}
	}
	return map[string]interface{}{"body": "Hello " + name + "!"}
}
`;

test('go: compiles in the sandbox once, reuses the cached binary, maps errors', { timeout: 300_000 }, async () => {
  const a = action(GO_HELLO, { kind: GO, limits: { timeout: 3000 } });
  const o = await t.rt.run(request(a, { name: 'gopher' }));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.deepEqual(o.result, { body: 'Hello gopher!' });
  assert.deepEqual(logText(o), ['stdout: hello gopher']);
  // A new version of the same code (a fresh executor) starts from the cached binary.
  const again = { ...a, version: '0.0.2', updated: a.updated + 1 };
  const c = await t.rt.run(request(again, { name: 'fail' }));
  assert.equal(c.statusCode, 1);
  assert.ok((c.initTime ?? 0) < (o.initTime ?? 0), `cached init ${c.initTime} ms vs build ${o.initTime} ms`);
  const crash = await t.rt.run(request(again, { name: 'crash' }));
  assert.equal(crash.statusCode, 2);
  const loop = await t.rt.run(request(again, { name: 'loop' }));
  assert.equal(loop.timeout, true);
  const bad = await t.rt.run(request(action('package main\n\nfunc Main(args map[string]interface{}) map[string]interface{} { return nope }\n', { kind: 'go:default' })));
  assert.equal(bad.statusCode, 2);
  assert.match((bad.result as { error: string }).error, /Go compiler failed:[\s\S]*undefined: nope/);
  const missing = await t.rt.run(
    request(action(zip({ 'go.mod': 'module hello\n\ngo 1.19\n', 'main.go': 'package main\n\nimport "example.com/greet"\n\nfunc Main(a map[string]interface{}) map[string]interface{} { return map[string]interface{}{"m": greet.Hi()} }\n' }), { kind: GO, binary: true })),
  );
  assert.equal(missing.statusCode, 2);
  assert.match((missing.result as { error: string }).error, /example\.com\/greet/);
});

test('go: a module zip with vendor/', { timeout: 300_000 }, async () => {
  const code = zip({
    'go.mod': 'module hello\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n',
    'main.go': 'package main\n\nimport "example.com/greet"\n\nfunc Main(a map[string]interface{}) map[string]interface{} { return map[string]interface{}{"m": greet.Hi()} }\n',
    'vendor/modules.txt': '# example.com/greet v1.0.0\n## explicit\nexample.com/greet\n',
    'vendor/example.com/greet/greet.go': 'package greet\n\nfunc Hi() string { return "hi from vendor" }\n',
  });
  const o = await t.rt.run(request(action(code, { kind: GO, binary: true })));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.deepEqual(o.result, { m: 'hi from vendor' });
});
