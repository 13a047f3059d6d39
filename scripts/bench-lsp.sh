#!/usr/bin/env bash
# Measures `converge lsp` on a generated playbook of LINES lines (default
# 5000): how long after a change its diagnostics arrive (an LSP client over
# stdio sends the change and waits for textDocument/publishDiagnostics), and
# the server's memory (VmRSS) after opening it and after EDITS more edits
# (default 1000), twice, to show whether it stays flat. Each measured change
# follows a quiet spell of 0.3 s, longer than the server's debounce (150 ms), so
# it is checked at once: the time is the check and the stdio round trip, not the
# debounce. The server's CPU time per change (user + system, from
# /proc/PID/stat) is printed beside the wall time, which a busy machine
# inflates. Prints figures; asserts nothing about time. CONVERGE_BIN names
# another converge binary to measure (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-5000}
edits=${2:-1000}
if [ -z "${CONVERGE_BIN:-}" ]; then
  cargo build --release --quiet --bin converge
  CONVERGE_BIN="$PWD/target/release/converge"
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
{
  echo 'vars {'
  echo '  go_version = "1.22.5"'
  echo '  owner = "root"'
  echo '}'
  # Five lines per resource.
  for r in $(seq 1 $(( (lines - 4) / 5 ))); do
    echo "file \"/etc/converge/f$r.conf\" {"
    echo "  content = \"go {{ go_version }} number $r\""
    echo "  owner = \"{{ owner }}\""
    echo "  mode = \"0644\""
    echo "}"
  done
} > "$dir/site.goenv"
CONVERGE_BIN="$CONVERGE_BIN" python3 - "$dir/site.goenv" "$edits" <<'PY'
import json, os, queue, statistics, subprocess, sys, threading, time, pathlib

path = pathlib.Path(sys.argv[1])
edits = int(sys.argv[2])
uri = path.as_uri()
text = path.read_text()
server = subprocess.Popen([os.environ["CONVERGE_BIN"], "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
inbox: "queue.Queue[dict]" = queue.Queue()


def reader():
    out = server.stdout
    while True:
        length = None
        while True:
            line = out.readline()
            if not line:
                return
            if line == b"\r\n":
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        inbox.put(json.loads(out.read(length)))


threading.Thread(target=reader, daemon=True).start()


def send(message):
    body = json.dumps(dict(jsonrpc="2.0", **message)).encode()
    server.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    server.stdin.flush()


def wait(accept, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        message = inbox.get(timeout=max(0.01, deadline - time.monotonic()))
        if accept(message):
            return message


def diagnostics(message):
    return message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri


def cpu_ms():
    """The server's user and system time so far: unlike wall time, not
    inflated by other processes on a busy machine."""
    fields = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def rss_kib():
    for line in open(f"/proc/{server.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


version = 1


def change(new_text):
    global version
    version += 1
    send(dict(method="textDocument/didChange", params=dict(
        textDocument=dict(uri=uri, version=version), contentChanges=[dict(text=new_text)])))


try:
    send(dict(id=1, method="initialize", params=dict(capabilities={})))
    wait(lambda m: m.get("id") == 1)
    send(dict(method="initialized", params={}))
    start = time.monotonic()
    send(dict(method="textDocument/didOpen", params=dict(
        textDocument=dict(uri=uri, languageId="goenv", version=1, text=text))))
    opened = wait(diagnostics)
    open_ms = (time.monotonic() - start) * 1000
    assert opened["params"]["diagnostics"] == [], opened
    print(f"converge lsp: {len(text.splitlines())}-line playbook, {len(text)} bytes")
    print(f"diagnostics after open: {open_ms:.1f} ms")

    # One change at a time, after a quiet spell, as when a line is edited.
    latencies = []
    cpu_before = cpu_ms()
    for i in range(30):
        time.sleep(0.3)
        broken = i % 2 == 0
        new_text = text.replace("number 7\"", "number {{ undefined_%d }}\"" % i) if broken else text
        start = time.monotonic()
        change(new_text)
        published = wait(diagnostics)
        latencies.append((time.monotonic() - start) * 1000)
        codes = [d["code"] for d in published["params"]["diagnostics"]]
        assert codes == (["E300"] if broken else []), codes
    cpu_per_change = (cpu_ms() - cpu_before) / len(latencies)
    latencies.sort()
    print("diagnostics after a change (one line edited after 0.3 s quiet, so not debounced):")
    print("  wall: median %.1f ms, p90 %.1f ms, max %.1f ms (%d changes)" % (
        statistics.median(latencies), latencies[int(len(latencies) * 0.9) - 1], latencies[-1], len(latencies)))
    print("  server CPU time per change: %.1f ms; load average now: %s (%d CPUs)" % (
        cpu_per_change, open("/proc/loadavg").read().split()[0], os.cpu_count()))

    print(f"memory after open: {rss_kib()} KiB")
    for round in (1, 2):
        for i in range(edits):
            change(text.replace("number 7\"", "number 7%d\"" % i))
        # The last edit holds a marker: its diagnostics mean every edit was read.
        change(text.replace("number 7\"", "{{ last_%d }}\"" % round))
        wait(lambda m: diagnostics(m) and any("last_%d" % round in d["message"] for d in m["params"]["diagnostics"]))
        print(f"memory after {round * edits} edits: {rss_kib()} KiB")

    send(dict(id=2, method="shutdown"))
    wait(lambda m: m.get("id") == 2)
    send(dict(method="exit"))
    server.wait(timeout=20)
finally:
    if server.poll() is None:
        server.kill()
        server.wait()
PY
