# Flare's native runner (kinds blackbox and go): hosts one native executable per executor, OpenWhisk's `native`
# skeleton contract: every run starts /code/exec (or the binary built from Go source) with the parameters as JSON in
# argv[1]; the last line of its stdout is the JSON result, the other lines and stderr are logs.
# For Go source the init request carries build=true: the source is copied to /tmp, compiled with the Debian Go
# toolchain (no network: modules must be vendored), and the binary is left in /out for the server's digest cache.
# Requests arrive as JSON lines on fd 3, answers leave as "<status> <json body>" lines on fd 4.
import json
import os
import shutil
import subprocess
import sys

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n"
fin = os.fdopen(3, "rb", buffering=0)
fout = os.fdopen(4, "wb", buffering=0)
binary = None
workdir = "/code"
init_env = {}

# Added to the user's package main: the blackbox contract around func Main(map[string]interface{}).
GO_WRAPPER = """package main

import (
\tflareJSON "encoding/json"
\tflareOS "os"
)

func main() {
\tvar flareArgs map[string]interface{}
\tif len(flareOS.Args) > 1 {
\t\t_ = flareJSON.Unmarshal([]byte(flareOS.Args[1]), &flareArgs)
\t}
\tif flareArgs == nil {
\t\tflareArgs = map[string]interface{}{}
\t}
\tflareRes := Main(flareArgs)
\tif flareRes == nil {
\t\tflareRes = map[string]interface{}{}
\t}
\tflareOut, flareErr := flareJSON.Marshal(flareRes)
\tif flareErr != nil {
\t\tflareOut, _ = flareJSON.Marshal(map[string]interface{}{"error": "The action did not return a valid JSON value: " + flareErr.Error()})
\t}
\tflareOS.Stdout.Write(append(flareOut, '\\n'))
}
"""


def reply(status, body):
    fout.write(("%d %s\n" % (status, body if isinstance(body, str) else json.dumps(body))).encode("utf-8"))


def end_of_activation():
    for s in (sys.stdout, sys.stderr):
        try:
            s.write(SENTINEL)
            s.flush()
        except Exception:
            pass


def fail_init(message):
    end_of_activation()
    reply(502, {"error": "Initialization has failed due to: " + message})


def go_build(src, out):
    """Compiles the Go action in src into out/exec; returns None or the compiler's message."""
    work = "/tmp/flare-go"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work + "/src", symlinks=False, ignore=shutil.ignore_patterns("exec"))
    srcdir = work + "/src"
    # Some zips hold the module one directory down (zip of a folder).
    if not os.path.exists(srcdir + "/go.mod"):
        entries = [e for e in os.listdir(srcdir) if not e.startswith(".")]
        if len(entries) == 1 and os.path.exists(os.path.join(srcdir, entries[0], "go.mod")):
            srcdir = os.path.join(srcdir, entries[0])
    if not os.path.exists(srcdir + "/go.mod"):
        with open(srcdir + "/go.mod", "w") as f:
            f.write("module action\n\ngo 1.19\n")
    with open(srcdir + "/zz_flare_main.go", "w") as f:
        f.write(GO_WRAPPER)
    env = {
        "PATH": "/usr/lib/go/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "GOCACHE": work + "/cache",
        "GOPATH": work + "/path",
        "GOTMPDIR": work,
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=vendor" if os.path.isdir(srcdir + "/vendor") else "-mod=mod",
        "CGO_ENABLED": "0",
        "LANG": "C.UTF-8",
    }
    # No -trimpath: it would rebuild the standard library instead of using Debian's precompiled one (1 s vs 30 s).
    p = subprocess.run(["go", "build", "-o", out + "/exec", "."], cwd=srcdir, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    shutil.rmtree(work, ignore_errors=True)
    if p.returncode != 0:
        return p.stdout.decode("utf-8", "replace").strip() or ("go build exited with %d" % p.returncode)
    return None


def init(msg):
    global binary, init_env, workdir
    if binary is not None:
        return reply(403, {"error": "Cannot initialize the action more than once."})
    init_env = {k: str(v) for k, v in (msg.get("env") or {}).items()}
    code = msg.get("file") or "/code"
    exe = os.path.join(code, "exec")
    if msg.get("build"):
        out = msg.get("out") or "/tmp"
        try:
            err = go_build(code, out)
        except Exception as ex:
            err = str(ex)
        if err is not None:
            sys.stderr.write(err + "\n")
            return fail_init("the Go compiler failed:\n" + err)
        exe = os.path.join(out, "exec")
    if not os.path.isfile(exe):
        return fail_init("Zip file does not include mandatory files (an 'exec' executable)."
                         if msg.get("binary") else "Missing main/no code to execute.")
    if not os.access(exe, os.X_OK):
        return fail_init("'exec' is not executable.")
    binary = exe
    workdir = code
    reply(200, {"OK": True})


def run(msg):
    if binary is None:
        end_of_activation()
        return reply(403, {"error": "Missing main/no code to execute."})
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
    env.update(init_env)
    env.update({k: str(v) for k, v in (msg.get("env") or {}).items()})
    arg = json.dumps(msg.get("value") or {}, ensure_ascii=False)
    try:
        p = subprocess.Popen([binary, arg], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=None, close_fds=True)
    except OSError as ex:
        sys.stderr.write("could not start the action: %s\n" % ex)
        end_of_activation()
        return reply(502, {"error": "The action did not produce a valid response and exited unexpectedly."})
    # Stream the log lines as they come; only the last line is held back as the result.
    last = None
    for line in p.stdout:
        if last is not None:
            sys.stdout.buffer.write(last)
            sys.stdout.flush()
        last = line
    code = p.wait()
    if code < 0:
        # Killed by a signal (the memory cgroup's OOM kill, a fork bomb hitting its cap): the executor goes with
        # it, so the server reads the cgroup's OOM counter and reports the right message.
        if last is not None:
            sys.stdout.buffer.write(last)
        sys.stdout.flush()
        os._exit(1)
    body = (last or b"").decode("utf-8", "replace").strip()
    if code != 0 and not body.startswith(("{", "[")):
        if body:
            sys.stdout.write(body + "\n")
        end_of_activation()
        return reply(502, {"error": "The action did not produce a valid response and exited unexpectedly."})
    end_of_activation()
    reply(200, body)


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
