#!/usr/bin/env python3
"""`modelspec serve` over many scans and many scrapers.

Memory: one `serve --demo` scanning as fast as it can (`--interval 1ms`); its resident memory
after 100 scans (the baseline: allocator arenas and caches warm) against after 1,000 and 2,000.
It must not grow.

Scrapes: /metrics fetched by one client alone (the baseline), then by 200 clients at once,
while the schedule scans every 100 ms; the scans done in that time against those expected.

Usage: python3 bench/serve_bench.py [--bin target/release/modelspec]
Loopback only; the server is stopped at the end.
"""

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time


def start(binary, interval):
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--listen", "127.0.0.1:0", "--interval", interval],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stderr.readline()
    match = re.search(r"://([0-9.]+):(\d+)", line)
    if not match:
        proc.kill()
        sys.exit(f"serve did not say where it listens: {line!r}")
    # Drain the rest of standard error so the server never blocks on it.
    threading.Thread(target=lambda: proc.stderr.read(), daemon=True).start()
    return proc, match.group(1), int(match.group(2))


def get(host, port, path):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def metric(host, port, name):
    _, body = get(host, port, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def scans(host, port):
    return metric(host, port, 'modelspec_serve_scans_total{result="success"}') or 0


def memory(binary):
    proc, host, port = start(binary, "1ms")
    marks = {}
    try:
        for mark in (100, 1000, 2000):
            while scans(host, port) < mark:
                time.sleep(0.05)
            marks[mark] = rss_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return marks


def scrapes(binary, clients=200, seconds=5.0):
    proc, host, port = start(binary, "100ms")
    try:
        while scans(host, port) < 1:
            time.sleep(0.05)
        alone = []
        for _ in range(200):
            t = time.perf_counter()
            get(host, port, "/metrics")
            alone.append(time.perf_counter() - t)
        loaded = []
        lock = threading.Lock()
        stop = time.monotonic() + seconds

        def scraper():
            mine = []
            while time.monotonic() < stop:
                t = time.perf_counter()
                try:
                    status, _ = get(host, port, "/metrics")
                except OSError:
                    continue
                if status == 200:
                    mine.append(time.perf_counter() - t)
            with lock:
                loaded.extend(mine)

        before = scans(host, port)
        started = time.monotonic()
        threads = [threading.Thread(target=scraper) for _ in range(clients)]
        peak = 0
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_kib(proc.pid))
            time.sleep(0.1)
        took = time.monotonic() - started
        done = scans(host, port) - before
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {
        "alone_p50_ms": statistics.median(alone) * 1000,
        "loaded_p50_ms": statistics.median(loaded) * 1000 if loaded else None,
        "loaded_scrapes": len(loaded),
        "seconds": took,
        "scans": done,
        "scans_expected": took / 0.1,
        "peak_rss_kib": peak,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default="target/release/modelspec")
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} is missing: cargo build --release")
    marks = memory(args.bin)
    base = marks[100]
    print("resident memory of serve --demo --interval 1ms")
    for mark, kib in marks.items():
        print(f"  after {mark:>5} scans: {kib / 1024:6.1f} MiB  ({kib / base:.2f}x the 100-scan baseline)")
    s = scrapes(args.bin)
    print("/metrics under 200 concurrent scrapers, scans every 100 ms")
    print(f"  one client alone (baseline): p50 {s['alone_p50_ms']:.2f} ms")
    print(
        f"  200 clients: {s['loaded_scrapes']} scrapes in {s['seconds']:.1f} s, p50 {s['loaded_p50_ms']:.2f} ms "
        f"({s['loaded_p50_ms'] / s['alone_p50_ms']:.1f}x alone); scans {s['scans']:.0f} of "
        f"{s['scans_expected']:.0f} scheduled; peak RSS {s['peak_rss_kib'] / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    main()
