#!/usr/bin/env python3
"""Records the endpoint part of the demo observation (fixtures/demo/observation.json).

Serves fixtures/demo/endpoints (a vLLM-shaped answer set for the demo spec's model) on a
loopback port, runs `modelspec facts --port PORT --json`, rewrites the port to the demo spec's
8000, and stores the `endpoint` section in the demo observation, leaving its GPU part as
recorded. Run after changing the endpoint answers or the observation format:

    cargo build --release && python3 scripts/demo/record_endpoint.py
"""

import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEMO = os.path.join(ROOT, "fixtures", "demo")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import fixture_server  # noqa: E402


def main():
    server = fixture_server.serve(fixture_server.answers(os.path.join(DEMO, "endpoints")))
    port = server.server_address[1]
    binary = os.environ.get("MODELSPEC_BIN", os.path.join(ROOT, "target", "release", "modelspec"))
    out = subprocess.run([binary, "facts", "--port", str(port), "--nvml-lib", "/nonexistent", "--json"],
                         capture_output=True, text=True, check=True)
    server.shutdown()
    endpoint = json.loads(out.stdout.replace(f"127.0.0.1:{port}", "127.0.0.1:8000"))["endpoint"]
    for target in endpoint["snapshot"]["targets"]:
        target["port"] = 8000
    obs_path = os.path.join(DEMO, "observation.json")
    with open(obs_path) as f:
        observation = json.load(f)
    observation["endpoint"] = endpoint
    with open(obs_path, "w") as f:
        json.dump(observation, f, indent=2)
        f.write("\n")
    print(f"recorded {len(endpoint['snapshot']['targets'][0]['exchanges'])} exchanges into {obs_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
