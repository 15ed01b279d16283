# Flare's python runner: hosts one action in its own process (started as /usr/bin/python3 -I -S -u).
# Requests arrive as JSON lines on fd 3, answers leave as "<status> <json body>" lines on fd 4; stdout/stderr are the
# function's logs, closed per activation by a sentinel line on each. Behaviour follows OpenWhisk's actionloop
# python runtime: an exception in main becomes {"error": str(ex)} (application error).
import json
import os
import sys
import time
import types

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
fin = os.fdopen(3, "rb", buffering=0)
fout = os.fdopen(4, "wb", buffering=0)
handler = None


def reply(status, body):
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False)
    except Exception as ex:
        status, text = 502, json.dumps({"error": "The action did not return a valid JSON value: %s" % ex})
    fout.write(("%d %s\n" % (status, text)).encode("utf-8"))


class _Tracked:
    """Remembers whether the stream ends mid-line, so the sentinel starts its own line without an empty one."""

    def __init__(self, stream):
        self._s = stream
        self.mid = False

    def write(self, text):
        if text:
            self.mid = not text.endswith("\n")
        return self._s.write(text)

    def __getattr__(self, name):
        return getattr(self._s, name)


sys.stdout = _Tracked(sys.stdout)
sys.stderr = _Tracked(sys.stderr)


def end_of_activation():
    for s in (sys.stdout, sys.stderr):
        try:
            s.write(("\n" if s.mid else "") + SENTINEL + "\n")
            s.flush()
        except Exception:
            pass


PROGRESS_MAX = 4096


def publish_progress(value):
    """Flare run control: the latest small JSON value a running function publishes ("P <json>" on the reply pipe)."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as e:
        sys.stderr.write("progress ignored: the value cannot be turned into JSON (%s).\n" % e)
        return False
    data = text.encode("utf-8")
    if len(data) > PROGRESS_MAX:
        sys.stderr.write(
            "progress ignored: the value is %d bytes of JSON, more than the limit of %d bytes.\n" % (len(data), PROGRESS_MAX)
        )
        return False
    fout.write(b"P " + data + b"\n")
    return True


# `import flare; flare.progress({...})` works for main(args) too.
_flare_module = types.ModuleType("flare")
_flare_module.progress = publish_progress
sys.modules["flare"] = _flare_module


class Context:
    """DigitalOcean's context object for main(event, context)."""

    def __init__(self, env):
        self.activation_id = env.get("__OW_ACTIVATION_ID")
        self.api_host = os.environ.get("__OW_API_HOST")
        self.api_key = env.get("__OW_API_KEY")
        self.deadline = int(env.get("__OW_DEADLINE", "0") or 0)
        self.function_name = env.get("__OW_ACTION_NAME")
        self.function_version = env.get("__OW_ACTION_VERSION")
        self.namespace = env.get("__OW_NAMESPACE")
        self.request_id = env.get("__OW_TRANSACTION_ID")

    def progress(self, value):
        return publish_progress(value)

    def get_remaining_time_in_millis(self):
        return max(0, self.deadline - int(time.time() * 1000))


def _positional_count(fn):
    # DigitalOcean's main(event, context) is recognised by its second positional parameter.
    code = getattr(fn, "__code__", None)
    if code is None:
        return 1
    n = code.co_argcount
    return n - 1 if hasattr(fn, "__self__") else n


def _print_exc():
    import traceback
    traceback.print_exc(file=sys.stderr)


def init(msg):
    global handler
    if handler is not None:
        return reply(403, {"error": "Cannot initialize the action more than once."})
    for k, v in (msg.get("env") or {}).items():
        os.environ[k] = str(v)
    main = msg.get("main") or "main"
    path = msg.get("file")
    try:
        if not path:
            raise Exception("Missing main/no code to execute.")
        base = os.path.dirname(path)
        os.chdir(base)
        if msg.get("binary"):
            if not os.path.exists(path):
                raise Exception("Zip file does not include mandatory files.")
            venv = os.path.join(base, "virtualenv")
            if os.path.isdir(venv):
                for lib in ("lib", "lib64"):
                    d = os.path.join(venv, lib)
                    if os.path.isdir(d):
                        for py in sorted(os.listdir(d)):
                            sp = os.path.join(d, py, "site-packages")
                            if os.path.isdir(sp):
                                sys.path.insert(0, sp)
        sys.path.insert(0, base)
        # Run the file as the __main__ module (cheaper than importlib; keeps the runner's start fast).
        with open(path, "rb") as f:
            code = compile(f.read(), path, "exec")
        mod = type(sys)("__main__")
        mod.__file__ = path
        mod.__builtins__ = __builtins__
        sys.modules["__main__"] = mod
        exec(code, mod.__dict__)
        fn = mod.__dict__.get(main)
        if not callable(fn):
            raise Exception("Action entrypoint '%s' is not a function." % main)
        handler = (fn, _positional_count(fn) >= 2)
        reply(200, {"OK": True})
    except BaseException as ex:
        import traceback
        traceback.print_exc(file=sys.stderr)
        end_of_activation()
        reply(502, {"error": "Initialization has failed due to: %s" % "".join(
            traceback.format_exception_only(type(ex), ex)).strip()})


def run(msg):
    if handler is None:
        end_of_activation()
        return reply(403, {"error": "Missing main/no code to execute."})
    env = msg.get("env") or {}
    for k, v in env.items():
        os.environ[k] = str(v)
    if "__OW_API_KEY" not in env:
        os.environ.pop("__OW_API_KEY", None)
    fn, wants_context = handler
    try:
        res = fn(msg.get("value") or {}, Context(env)) if wants_context else fn(msg.get("value") or {})
    except Exception as ex:
        _print_exc()
        res = {"error": str(ex)}
    end_of_activation()
    if res is None:
        res = {}
    if not isinstance(res, (dict, list)):
        return reply(502, {"error": "The action did not return a dictionary or array."})
    reply(200, res)


fout.write(b"0 {}\n")  # booted
while True:
    line = fin.readline()
    if not line:
        break
    line = line.strip()
    if not line:
        continue
    m = json.loads(line)
    if m.get("op") == "init":
        init(m)
    else:
        run(m)
