#!/usr/bin/env python3
"""A fleet of node reports for `modelspec fleet`: N nodes, each scanned against the same specs
by replaying one saved observation under its own node name (`scan --facts OBS --node NAME`),
so every report is a real, verifiable scan. Used by bench/run.py; run alone to keep a fleet:

    python3 bench/fleet_bench.py OUT_DIR --nodes 2000 --facts node.json SPEC...
"""

import argparse
import concurrent.futures
import os
import subprocess


def generate(binary, out_dir, nodes, facts, specs, env=None):
    """Writes OUT_DIR/node-NNNN.json for each node; answers the paths."""
    os.makedirs(out_dir, exist_ok=True)

    def one(i):
        path = os.path.join(out_dir, f"node-{i:04d}.json")
        cmd = [binary, "scan", *specs, "--facts", facts, "--node", f"node-{i:04d}", "--format", "json",
               "-o", path, "-q"]
        p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if p.returncode not in (0, 1):
            raise RuntimeError(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.decode(errors='replace')[:500]}")
        return path

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(one, range(nodes)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--facts", required=True)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "modelspec"))
    ap.add_argument("specs", nargs="+")
    a = ap.parse_args()
    paths = generate(a.binary, a.out_dir, a.nodes, a.facts, a.specs)
    print(f"{len(paths)} reports in {a.out_dir}")


if __name__ == "__main__":
    main()
