#!/usr/bin/env python3
"""Records the endpoint part of the demo observation (fixtures/demo/observation.json).

Serves fixtures/demo/endpoints (a vLLM-shaped answer set for the demo spec's model) on a
loopback port, runs `modelspec facts --port PORT --json`, rewrites the port to the demo spec's
8000, and stores the `endpoint` section in the demo observation, leaving its GPU part as
recorded. Run after changing the endpoint answers or the observation format:

    cargo build --release && python3 scripts/demo/record_endpoint.py
"""

import glob
import http.server
import json
import os
import subprocess
import sys
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEMO = os.path.join(ROOT, "fixtures", "demo")


def main():
    routes = {}
    for path in glob.glob(os.path.join(DEMO, "endpoints", "*.json")):
        with open(path) as f:
            doc = json.load(f)
        routes[doc["path"]] = (doc["status"], dict(doc["headers"]).get("content-type"), doc["body"].encode())

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            status, ctype, body = routes.get(self.path, (404, "application/json", b'{"detail":"Not Found"}'))
            self.send_response(status)
            if ctype:
                self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer.request_queue_size = 128
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
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
