// The systemd unit shipped in deploy/ passes `systemd-analyze verify` (skipped where systemd-analyze is missing).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers/server.js';

const available = spawnSync('systemd-analyze', ['--version']).status === 0;

it('deploy/flare.service passes systemd-analyze verify', { skip: available ? false : 'systemd-analyze is not installed' }, () => {
  const r = spawnSync('systemd-analyze', ['verify', join(ROOT, 'deploy', 'flare.service')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // verify reports problems on stderr even when it exits 0 for some of them (unknown keys, bad values).
  assert.doesNotMatch(r.stderr, /flare\.service:\d+:|Unknown (key|section)|Failed to parse/i, r.stderr);
});
