// Unit tests of the credentials file (doctl/nim credentials.json format) and the bootstrap connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addConnection,
  credentialsPath,
  currentConnection,
  ensureBootstrapConnection,
  listConnections,
  readCredentialsFile,
} from '../src/cli/credentials.js';
import { CliError } from '../src/cli/errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'flare-cred-'));

test('credentialsPath: FLARE_CONFIG_DIR, else XDG_CONFIG_HOME/flare, else ~/.config/flare', () => {
  assert.equal(credentialsPath({ FLARE_CONFIG_DIR: '/x' }), '/x/credentials.json');
  if (process.platform === 'linux') {
    assert.equal(credentialsPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/home/u' }), '/xdg/flare/credentials.json');
    assert.equal(credentialsPath({ HOME: '/home/u' }), '/home/u/.config/flare/credentials.json');
  }
});

test('not connected: doctl message, exit 1', () => {
  const env = { FLARE_CONFIG_DIR: tmp() };
  assert.equal(readCredentialsFile(env), undefined);
  assert.throws(
    () => currentConnection(env),
    (err: unknown) =>
      err instanceof CliError &&
      err.exitCode === 1 &&
      err.message === 'serverless support is installed but not connected to a functions namespace (use `flare connect`)',
  );
});

test('addConnection keeps every namespace, writes the nim format with mode 0600', () => {
  const dir = join(tmp(), 'sub');
  const env = { FLARE_CONFIG_DIR: dir };
  addConnection({ apihost: 'http://a', namespace: 'ns1', auth: 'u1:k1' }, true, env);
  addConnection({ apihost: 'http://b', namespace: 'ns2', auth: 'u2:k2', label: 'prod' }, false, env);
  const file = JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8'));
  assert.equal(file.currentHost, 'http://a');
  assert.equal(file.currentNamespace, 'ns1');
  assert.equal(file.label, '');
  assert.deepEqual(file.credentials, {
    'http://a': { ns1: { api_key: 'u1:k1' } },
    'http://b': { ns2: { api_key: 'u2:k2', label: 'prod' } },
  });
  assert.equal(statSync(join(dir, 'credentials.json')).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.deepEqual(currentConnection(env), { apihost: 'http://a', namespace: 'ns1', auth: 'u1:k1', label: undefined });
  addConnection({ apihost: 'http://b', namespace: 'ns2', auth: 'u2:k2', label: 'prod' }, true, env);
  assert.equal(currentConnection(env).namespace, 'ns2');
  assert.equal(listConnections(env).length, 2);
});

test('ensureBootstrapConnection adds only when there is no current connection, never overwrites', () => {
  const env = { FLARE_CONFIG_DIR: tmp() };
  assert.equal(ensureBootstrapConnection('http://boot', 'guest', 'g:k', env), true);
  assert.deepEqual(currentConnection(env), { apihost: 'http://boot', namespace: 'guest', auth: 'g:k', label: undefined });
  assert.equal(ensureBootstrapConnection('http://other', 'guest2', 'x:y', env), false);
  assert.equal(currentConnection(env).apihost, 'http://boot');
  assert.equal(listConnections(env).length, 1);

  // A file with stored namespaces but no current one gets the bootstrap added beside them.
  const dir = tmp();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'credentials.json'), JSON.stringify({ credentials: { 'http://a': { ns1: { api_key: 'a:b' } } } }));
  assert.equal(ensureBootstrapConnection('http://boot', 'guest', 'g:k', { FLARE_CONFIG_DIR: dir }), true);
  assert.equal(listConnections({ FLARE_CONFIG_DIR: dir }).length, 2);

  // An unreadable (corrupt) file is left alone.
  const bad = tmp();
  writeFileSync(join(bad, 'credentials.json'), '{not json');
  assert.equal(ensureBootstrapConnection('http://boot', 'guest', 'g:k', { FLARE_CONFIG_DIR: bad }), false);
  assert.equal(readFileSync(join(bad, 'credentials.json'), 'utf8'), '{not json');
});
