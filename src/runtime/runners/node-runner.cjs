'use strict';
// Flare's nodejs runner: hosts one action in its own process. Requests arrive as JSON lines on fd 3, answers leave
// as "<status> <json body>" lines on fd 4; stdout/stderr are the function's logs, closed per activation by a
// sentinel line on each. Behaviour follows openwhisk-runtime-nodejs (core/nodejsActionBase).
const fs = require('fs');
const path = require('path');
const net = require('net');
const Module = require('module');
const { pathToFileURL } = require('url');

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';
const input = new net.Socket({ fd: 3, readable: true, writable: false });
const output = new net.Socket({ fd: 4, readable: false, writable: true });
let handler;
let initialized = false;

// Which streams got a sentinel at the end of the last activation (bit 1 stdout, bit 2 stderr); sent with the reply
// as "<status>/<mask>" so the server waits only for those.
let sentinelMask;

function reply(status, body) {
  let text;
  try {
    text = JSON.stringify(body);
  } catch (e) {
    status = 502;
    text = JSON.stringify({ error: `The action did not produce a valid JSON response: ${e}` });
  }
  if (text === undefined) text = 'null';
  const head = sentinelMask === undefined || sentinelMask === 3 ? `${status}` : `${status}/${sentinelMask}`;
  sentinelMask = undefined;
  output.write(`${head} ${text}\n`);
}

// Blocking log writes: a log flood is paced by the reader instead of queueing in this process's memory, and the
// sentinel can never overtake the function's own output.
for (const s of [process.stdout, process.stderr]) {
  try { if (s._handle && s._handle.setBlocking) s._handle.setBlocking(true); } catch {}
}

// Track whether each stream ends mid-line, so the sentinel starts a line of its own without adding an empty one.
// Also track whether anything was written since the last sentinel: a stream the activation did not write to gets no
// sentinel (two pipe writes and two wake-ups fewer per quiet activation). Output that bypasses process.stdout (a
// child process, fs.writeSync(1)) is then collected with the next activation that logs, as OpenWhisk's does.
const midLine = { stdout: false, stderr: false };
const wrote = { stdout: true, stderr: true };
for (const name of ['stdout', 'stderr']) {
  const s = process[name];
  const write = s.write;
  s.write = function (chunk, ...rest) {
    if (chunk != null && chunk.length > 0) {
      const last = typeof chunk === 'string' ? chunk.charCodeAt(chunk.length - 1) : chunk[chunk.length - 1];
      midLine[name] = last !== 10;
      wrote[name] = true;
    }
    return write.call(this, chunk, ...rest);
  };
}

function endOfActivation() {
  // Pipes are synchronous on Linux, so everything the function logged is written before the sentinels.
  let mask = 0;
  for (const [bit, name] of [[1, 'stdout'], [2, 'stderr']]) {
    if (!wrote[name]) continue;
    try { process[name].write(`${midLine[name] ? '\n' : ''}${SENTINEL}\n`); } catch {}
    midLine[name] = false;
    wrote[name] = false;
    mask |= bit;
  }
  sentinelMask = mask;
}

function serializeError(err) {
  if (err && typeof err === 'object') {
    if (err instanceof Error) {
      const o = { name: err.name, message: err.message, stack: err.stack };
      for (const k of Object.keys(err)) o[k] = err[k];
      return JSON.parse(JSON.stringify(o));
    }
    return err;
  }
  if (typeof err === 'function') return `[Function: ${err.name || 'anonymous'}]`;
  return err;
}

function splitMainHandler(main) {
  const m = main.match(/^([^.]+)$|^([^.]+)\.js\.([^.]+)$|^([^.]+)\.mjs\.([^.]+)$|^([^.]+)\.([^.]+)$/);
  if (!m) return undefined;
  if (m[1]) return [undefined, m[1]];
  if (m[2]) return [`${m[2]}.js`, m[3]];
  if (m[4]) return [`${m[4]}.mjs`, m[5]];
  return [m[6], m[7]];
}

function assertFunction(h, name) {
  if (typeof h !== 'function') throw `Action entrypoint '${name}' is not a function.`;
  return h;
}

async function loadModule(target) {
  try {
    return require(target);
  } catch (e) {
    if (e && (e.code === 'ERR_REQUIRE_ESM' || /Cannot use import statement|Unexpected token 'export'/.test(String(e.message)))) {
      return import(pathToFileURL(require.resolve(target)).href);
    }
    throw e;
  }
}

function pick(mod, main) {
  if (mod == null) return undefined;
  if (typeof mod[main] === 'function') return mod[main];
  if (mod.default && typeof mod.default[main] === 'function') return mod.default[main];
  if (main === 'main' && typeof mod.default === 'function') return mod.default;
  return mod[main];
}

async function init(msg) {
  if (initialized) return reply(403, { error: 'Cannot initialize the action more than once.' });
  for (const [k, v] of Object.entries(msg.env || {})) process.env[k] = String(v);
  const main = msg.main || 'main';
  try {
    if (!msg.file) throw 'Missing main/no code to execute.';
    if (msg.binary) {
      const parts = splitMainHandler(main);
      if (!parts) throw 'Name of main function is not valid.';
      const [index, fn] = parts;
      const dir = msg.file;
      process.chdir(dir);
      if (index === undefined && !fs.existsSync('package.json') && !fs.existsSync('index.js')) {
        throw 'Zipped actions must contain either package.json or index.js at the root.';
      }
      const mod = await loadModule(index !== undefined ? path.join(dir, index) : dir);
      handler = assertFunction(pick(mod, fn), main);
    } else if (msg.file.endsWith('.mjs')) {
      process.chdir(path.dirname(msg.file));
      const mod = await import(pathToFileURL(msg.file).href);
      handler = assertFunction(pick(mod, main), main);
    } else {
      process.chdir(path.dirname(msg.file));
      const code = fs.readFileSync(msg.file, 'utf8');
      const m = new Module(msg.file, null);
      m.filename = msg.file;
      m.paths = Module._nodeModulePaths(path.dirname(msg.file));
      const ident = /^[A-Za-z_$][\w$]*$/.test(main);
      // As OpenWhisk's eval: a global function named main, else module.exports[main] / exports[main].
      const tail = ident
        ? `\n;globalThis.__flareMain = (function(){ try { return ${main}; } catch (e) { if (e && e.name === 'ReferenceError') return undefined; throw e; } })();`
        : '';
      try {
        m._compile(code + tail, msg.file);
      } catch (e) {
        // Report a syntax error against the user's own code, not our appended lookup.
        if (tail && e instanceof SyntaxError) m._compile(code, msg.file);
        throw e;
      }
      let h = globalThis.__flareMain;
      delete globalThis.__flareMain;
      if (typeof h !== 'function') h = pick(m.exports, main);
      handler = assertFunction(h, main);
    }
    initialized = true;
    reply(200, { OK: true });
  } catch (e) {
    const errStr = String(e && e.stack ? e.stack : e);
    endOfActivation();
    reply(502, { error: `Initialization has failed due to: ${errStr}` });
  }
}

// Progress (Flare run control): the latest small JSON value a running function publishes, sent as a "P <json>" line
// on the reply pipe. context.progress(v) for main(args, context); globalThis.flare.progress(v) for main(args).
const PROGRESS_MAX = 4096;
function publishProgress(value) {
  let text;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (e) {
    process.stderr.write(`progress ignored: the value cannot be turned into JSON (${e && e.message}).\n`);
    return false;
  }
  const size = Buffer.byteLength(text);
  if (size > PROGRESS_MAX) {
    process.stderr.write(`progress ignored: the value is ${size} bytes of JSON, more than the limit of ${PROGRESS_MAX} bytes.\n`);
    return false;
  }
  output.write(`P ${text}\n`);
  return true;
}
globalThis.flare = Object.freeze({ progress: publishProgress });

async function run(msg) {
  if (!initialized) {
    endOfActivation();
    return reply(403, { error: 'Missing main/no code to execute.' });
  }
  const env = msg.env || {};
  for (const [k, v] of Object.entries(env)) process.env[k] = String(v);
  if (!('__OW_API_KEY' in env)) delete process.env.__OW_API_KEY;
  const deadline = Number(env.__OW_DEADLINE);
  const context = {
    activationId: env.__OW_ACTIVATION_ID,
    apiHost: process.env.__OW_API_HOST,
    apiKey: env.__OW_API_KEY,
    deadline,
    functionName: env.__OW_ACTION_NAME,
    functionVersion: env.__OW_ACTION_VERSION,
    namespace: env.__OW_NAMESPACE,
    requestId: env.__OW_TRANSACTION_ID,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    progress: publishProgress,
  };
  let result;
  try {
    result = handler.length >= 2 ? handler(msg.value, context) : handler(msg.value);
  } catch (e) {
    // A synchronous throw is a developer error and the executor is destroyed (OpenWhisk marks it stopped).
    endOfActivation();
    return reply(502, { error: `An error has occurred: ${e}` });
  }
  let resolved;
  try {
    resolved = await result;
    if (typeof resolved === 'undefined') resolved = {};
  } catch (err) {
    resolved = err ? { error: serializeError(err) } : { error: {} };
  }
  endOfActivation();
  if (typeof resolved !== 'object') return reply(502, { error: 'The action did not return a dictionary.' });
  reply(200, resolved);
}

let chain = Promise.resolve();
let buf = '';
input.setEncoding('utf8');
input.on('data', (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (!line) continue;
    const msg = JSON.parse(line);
    chain = chain.then(() => (msg.op === 'init' ? init(msg) : run(msg)));
  }
});
input.on('end', () => process.exit(0));
output.write('0 {}\n'); // booted
input.on('error', () => process.exit(0));
