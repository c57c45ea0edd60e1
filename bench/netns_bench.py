#!/usr/bin/env python3
"""Benchmark: the host probe's survey of every network namespace, on a node with 1,000
processes spread over 50 network namespaces, against the same 1,000 processes in one.

`modelspec facts --port P` surveys every network namespace of the node (probes/host/src/netns.rs:
every process's `ns/net` link, each namespace's `tcp{,6}` tables, every process's fd links) to
find who listens on P. Two node shapes, set up one after the other, each torn down before the
next:

  (a) one namespace: a `sh` with 998 `sleep`s and one loopback HTTP listener on a free port
      (1,000 processes), all in the host's namespace; `facts --port THAT_PORT` finds 1 candidate;
  (b) 50 namespaces (`unshare --net --fork --kill-child`), each holding an `unshare`, 18
      `sleep`s and one listener on 127.0.0.1:8000 (1,000 processes); `facts --port 8000`
      finds 50 candidates, and the endpoint probe then asks each one over HTTP inside its
      namespace (setns). `facts --port 9` (nothing listens on it anywhere) is the survey
      without any candidate to describe.

Floors, in each phase: `facts` without a port (no survey) and `/bin/true`. Commands run
round-robin, --runs times each, so drift on a shared machine hits every row alike. Reported:
wall time of the whole process, and the host probe's own `host.provenance.duration_ms` from
the JSON each run wrote (whole milliseconds; the process spawn, the GPU probe and the HTTP
exchanges are outside it).

Needs root (unshare --net, reading every process's /proc entries), `unshare` and `ip`.
Everything it starts runs in process groups of its own, killed on exit, Ctrl-C or error; no
named namespace (`ip netns`) is created, so nothing persists. A benchmark, not a test.

    cargo build --release --bin modelspec
    sudo python3 bench/netns_bench.py [--runs 20] [--namespaces 50] [--processes 1000]

Exit: 0 done, 2 harness error (binary missing, setup failed), 77 skipped (not root, no unshare).
"""

import argparse
import ctypes
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MARK = "MODELSPEC_NETNS_BENCH"

# A loopback HTTP/1.1 server with the socket module only (~9 MiB): every request gets an empty
# 404 and the connection is closed. `facts --port` asks every candidate's engine endpoints, and
# a listener that never answered would hold each run to the --timeout deadline. Prints its port
# once it listens.
LISTENER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2)
        got = b""
        while b"\r\n\r\n" not in got and len(got) < 65536:
            d = c.recv(65536)
            if not d:
                break
            got += d
        if got:
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
"""


class Crowd:
    """Process groups started by the benchmark; killed as a whole."""

    def __init__(self, tag):
        self.groups = []
        self.env = dict(os.environ, **{MARK: tag})
        self.tag = tag

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, env=self.env, stdin=subprocess.DEVNULL, **kw)
        self.groups.append(p)
        return p

    def kill(self):
        for p in self.groups:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.groups:
            p.wait()
            if p.stdout:
                p.stdout.close()
        self.groups = []
        # The sleepers outlive their killed parents for a moment; as the subreaper (see
        # main) this process inherits and reaps them, so none is left even as a zombie and the
        # next phase starts on the node it expects.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                time.sleep(0.02)

    def leftovers(self):
        """Pids of processes carrying this run's marker in their environment, and of children
        (zombies included) not yet reaped."""
        found = []
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
            found.append("live children")
        except ChildProcessError:
            pass
        needle = f"{MARK}={self.tag}".encode()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        found.append(int(name))
            except OSError:
                pass
        return found


def node_census():
    """(processes, distinct network namespaces) on the node right now."""
    procs, namespaces = 0, set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        procs += 1
        try:
            namespaces.add(os.readlink(f"/proc/{name}/ns/net"))
        except OSError:
            pass
    return procs, len(namespaces)


def read_ready(p, what):
    line = p.stdout.readline().strip()
    if not line.isdigit():
        raise RuntimeError(f"{what} did not start (exit {p.poll()})")
    return int(line)


def setup_one_namespace(crowd, processes, sleep_s):
    """(a): processes - 1 sleepers and one listener on a free port, all in the host's namespace."""
    listener = crowd.start([sys.executable, "-c", LISTENER, "0"], stdout=subprocess.PIPE, text=True)
    port = read_ready(listener, "the listener")
    sleepers = processes - 2  # the sh below is one process too
    crowd.start(["sh", "-c", f"i=0; while [ $i -lt {sleepers} ]; do sleep {sleep_s} & i=$((i+1)); done; wait"],
                stdout=subprocess.DEVNULL)
    return port


def setup_namespaces(crowd, namespaces, per_namespace, port, sleep_s):
    """(b): per namespace, `unshare` (it enters the namespace too), sleepers, one listener."""
    sleepers = per_namespace - 2
    script = (f"ip link set lo up || exit 1; i=0; while [ $i -lt {sleepers} ]; do "
              f"sleep {sleep_s} </dev/null >/dev/null 2>&1 & i=$((i+1)); done; "
              f"exec {sys.executable} -c \"$0\" {port}")
    listeners = [crowd.start(["unshare", "--net", "--fork", "--kill-child", "sh", "-c", script, LISTENER],
                             stdout=subprocess.PIPE, text=True)
                 for _ in range(namespaces)]
    for i, p in enumerate(listeners):
        read_ready(p, f"the listener of namespace {i}")


def settle(expected, timeout=30):
    """Waits until the node has at least `expected` processes (the sleepers start asynchronously)."""
    deadline = time.monotonic() + timeout
    while node_census()[0] < expected and time.monotonic() < deadline:
        time.sleep(0.1)


def run_once(cmd, out_path):
    if out_path and os.path.exists(out_path):
        os.unlink(out_path)
    t = time.perf_counter()
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode
    wall = (time.perf_counter() - t) * 1000
    if not out_path:
        return wall, None, None
    if rc != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {rc}")
    with open(out_path, encoding="utf-8") as f:
        obs = json.load(f)
    host = obs["host"]
    if host.get("outcome") != "observed":
        raise RuntimeError(f"host probe did not answer: {host}")
    candidates = None
    for server in host["snapshot"].get("servers", []):
        c = server.get("candidates", {})
        candidates = len(c.get("value", [])) if c.get("status") == "ok" else 0
    return wall, host["provenance"]["duration_ms"], candidates


def measure(rows, runs):
    """Runs the rows round-robin (one untimed warm-up round first)."""
    samples = {name: {"wall": [], "host": [], "candidates": set()} for name, _, _ in rows}
    for i in range(runs + 1):
        for name, cmd, out_path in rows:
            wall, host_ms, cand = run_once(cmd, out_path)
            if i == 0:
                continue
            s = samples[name]
            s["wall"].append(wall)
            if host_ms is not None:
                s["host"].append(host_ms)
            if cand is not None:
                s["candidates"].add(cand)
    return samples


def fmt(values, unit="ms", digits=1):
    if not values:
        return "", ""
    return (f"{statistics.mean(values):.{digits}f} {unit}", f"{statistics.median(values):.{digits}f} {unit}")


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("MODELSPEC_BIN", os.path.join(ROOT, "target", "release", "modelspec")))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--namespaces", type=int, default=50)
    ap.add_argument("--processes", type=int, default=1000, help="extra processes in each phase")
    ap.add_argument("--port", type=int, default=8000, help="the port every namespace listens on in (b)")
    ap.add_argument("--idle-port", type=int, default=9, help="a port nothing listens on, for the survey-only row")
    ap.add_argument("--timeout", default="10s", help="facts --timeout")
    ap.add_argument("--sleep", type=int, default=1800, help="lifetime of the sleepers, seconds (a safety net)")
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        print(f"netns_bench: {a.bin} is missing; run `cargo build --release --bin modelspec`", file=sys.stderr)
        return 2
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        print("netns_bench: skipped: needs root, unshare and ip", file=sys.stderr)
        return 77
    per_ns = a.processes // a.namespaces
    if per_ns < 3:
        print("netns_bench: --processes must allow 3 processes a namespace", file=sys.stderr)
        return 2

    # Orphaned descendants are re-parented to this process, which reaps them (PR_SET_CHILD_SUBREAPER).
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    # SIGTERM unwinds like Ctrl-C, through the finally below.
    def on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    netns_before = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    crowd = Crowd(f"{os.getpid()}-{time.time_ns()}")
    tmp = tempfile.mkdtemp(prefix="netns-bench-")
    x, y = os.path.join(tmp, "x.json"), os.path.join(tmp, "y.json")
    facts = [a.bin, "facts", "--timeout", a.timeout]
    results = {}
    census = {}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = os.getloadavg()[0]
    try:
        # (a) one namespace.
        base_procs = node_census()[0]
        port_a = setup_one_namespace(crowd, a.processes, a.sleep)
        settle(base_procs + a.processes)
        census["a"] = node_census()
        print(f"netns_bench: (a) {census['a'][0]} processes in {census['a'][1]} namespaces; measuring ...",
              file=sys.stderr)
        res = measure([
            ("a", facts + ["--port", str(port_a), "-o", x], x),
            ("c_a", facts + ["-o", y], y),
            ("true", ["/bin/true"], None),
        ], a.runs)
        results.update(res)
        crowd.kill()

        # (b) many namespaces.
        base_procs = node_census()[0]
        setup_namespaces(crowd, a.namespaces, per_ns, a.port, a.sleep)
        settle(base_procs + a.namespaces * per_ns)
        census["b"] = node_census()
        print(f"netns_bench: (b) {census['b'][0]} processes in {census['b'][1]} namespaces; measuring ...",
              file=sys.stderr)
        res = measure([
            ("b", facts + ["--port", str(a.port), "-o", x], x),
            ("b_idle", facts + ["--port", str(a.idle_port), "-o", x], x),
            ("c_b", facts + ["-o", y], y),
        ], a.runs)
        results.update(res)
    except KeyboardInterrupt:
        print("netns_bench: interrupted; cleaning up", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, KeyError, ValueError) as e:
        print(f"netns_bench: {e}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        crowd.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        left = crowd.leftovers()
        netns_after = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        print(f"netns_bench: cleanup: {len(left)} bench processes left"
              f"{' (' + ', '.join(map(str, left[:10])) + ')' if left else ''}; "
              f"`ip netns list` {'unchanged' if netns_after == netns_before else 'changed by someone else'} "
              f"({len(netns_after.splitlines())} named namespaces now; this script creates none)", file=sys.stderr)

    def mean(name, key):
        return statistics.mean(results[name][key])

    def med(name, key):
        return statistics.median(results[name][key])

    def cands(name):
        c = results[name]["candidates"]
        return "/".join(str(v) for v in sorted(c)) if c else ""

    uname = platform.uname()
    print(f"### Host probe across network namespaces: {a.runs} runs each, round-robin, {started}\n")
    print(f"{os.cpu_count()} CPUs ({cpu_model()}), {uname.system} {uname.release}, release build, "
          f"Python {platform.python_version()} harness; load average {load_start:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end. Node during (a): {census['a'][0]} processes in "
          f"{census['a'][1]} network namespaces; during (b): {census['b'][0]} in {census['b'][1]}.\n")
    print("| row | command | candidates | wall mean | wall median | host probe mean | host probe median |")
    print("|---|---|---:|---:|---:|---:|---:|")
    rows = [
        ("a", f"(a) {a.processes:,} processes in one namespace",
         f"`facts --port {port_a}`"),
        ("b", f"(b) {a.processes:,} processes in {a.namespaces} namespaces",
         f"`facts --port {a.port}`"),
        ("b_idle", "(b') the same node, a port nothing listens on (survey only)",
         f"`facts --port {a.idle_port}`"),
        ("c_a", "(c) no survey, node (a)", "`facts`"),
        ("c_b", "(c) no survey, node (b)", "`facts`"),
        ("true", "(c) spawn floor", "`/bin/true`"),
    ]
    for key, label, cmd in rows:
        wm, wmed = fmt(results[key]["wall"])
        hm, hmed = fmt(results[key]["host"])
        print(f"| {label} | {cmd} | {cands(key)} | {wm} | {wmed} | {hm} | {hmed} |")
    print()

    def ratio(n, d, key):
        dm, dmed = mean(d, key), med(d, key)
        if not dm or not dmed:
            return "n/a"
        return f"{mean(n, key) / dm:.1f}x (medians {med(n, key) / dmed:.1f}x)"

    print(f"Ratios, host probe's own time: (b)/(a) {ratio('b', 'a', 'host')}; "
          f"(b')/(a) {ratio('b_idle', 'a', 'host')}; (b)/(b') {ratio('b', 'b_idle', 'host')}. "
          f"Each extra namespace costs {(mean('b_idle', 'host') - mean('a', 'host')) / max(1, a.namespaces):.2f} ms "
          f"of survey; each candidate {(mean('b', 'host') - mean('b_idle', 'host')) / max(1, a.namespaces):.2f} ms.")
    print(f"Ratios, wall time: (b)/(a) {ratio('b', 'a', 'wall')}; (b')/(a) {ratio('b_idle', 'a', 'wall')}; "
          f"(a)/`facts` {ratio('a', 'c_a', 'wall')}; (b)/`facts` {ratio('b', 'c_b', 'wall')}; "
          f"(a)/`/bin/true` {ratio('a', 'true', 'wall')}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
