"""A loopback HTTP server that replays a fixture folder's recorded answers.

Fixture folders hold `endpoints/*.json` files, each `{method, path, status, headers, body}` (as
`scripts/capture/vllm_capture.py` writes them). Paths not recorded answer 404. Used by the
endpoint benchmark and by the demo recording; standard library only.
"""

import glob
import http.server
import json
import os
import threading


def answers(endpoints_dir):
    """Path -> (status, content type or None, body bytes) for every recorded GET."""
    routes = {}
    for path in glob.glob(os.path.join(endpoints_dir, "*.json")):
        with open(path) as f:
            doc = json.load(f)
        if isinstance(doc, dict) and doc.get("path") and doc.get("body") is not None:
            headers = dict(doc.get("headers") or [])
            routes[doc["path"]] = (doc["status"], headers.get("content-type"), doc["body"].encode())
    return routes


def serve(routes):
    """Starts a threaded server on 127.0.0.1 (a free port) in the background; returns it."""

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

    # Python's default listen backlog is 5: a scan's 8 concurrent connections would make the
    # kernel drop SYNs and the client retry after 1 s. Real engines listen with 2048 (uvicorn).
    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
