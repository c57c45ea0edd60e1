#!/usr/bin/python3
"""An imitation of vLLM 0.32's OpenAI-compatible server, for tests that run it in a container.

Installed in the test image as /srv/vllm (executable) and started as
`/srv/vllm serve MODEL --port 8000 --max-model-len 4096 ...`: through the shebang the kernel runs
`/usr/bin/python3 /srv/vllm serve MODEL ...`, a command line that reads as `vllm serve` (the
program name `vllm` among the first arguments, and `serve`), and the process name is `vllm`.

Answers what a prober reads from vLLM: /v1/models, /version, /health, /metrics. Other vLLM
flags are accepted and ignored. Python 3.11 standard library only; it only listens and sends
nothing anywhere.
"""

import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "0.32.0"


def parse(argv):
    p = argparse.ArgumentParser(prog="vllm", add_help=False, allow_abbrev=False)
    p.add_argument("command", nargs="?")  # `serve`
    p.add_argument("model_tag", nargs="?")  # `vllm serve MODEL`
    p.add_argument("--model")
    p.add_argument("--served-model-name", "--served_model_name", nargs="+")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-model-len", "--max_model_len", type=int, default=4096)
    p.add_argument("--max-num-seqs", "--max_num_seqs", type=int, default=32)  # argv only
    args, _ignored = p.parse_known_args(argv)
    args.model = args.model or args.model_tag
    if not args.model:
        p.error("a model is needed: serve MODEL or --model MODEL")
    return args


def dump(doc):
    """JSON as FastAPI writes it: compact."""
    return json.dumps(doc, separators=(",", ":"))


def handler(args):
    names = args.served_model_name or [args.model]
    created = int(time.time())
    models = {
        "object": "list",
        "data": [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": "vllm",
                "root": args.model,
                "parent": None,
                "max_model_len": args.max_model_len,
            }
            for name in names
        ],
    }
    metrics = "".join(
        f"# HELP vllm:{m} {h}\n# TYPE vllm:{m} gauge\n"
        + "".join(f'vllm:{m}{{model_name="{name}"}} 0.0\n' for name in names)
        for m, h in [
            ("num_requests_running", "Number of requests in model execution batches."),
            ("num_requests_waiting", "Number of requests waiting to be processed."),
        ]
    )

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def version_string(self):
            return "uvicorn"

        def send(self, status, body=b"", content_type="application/json"):
            self.send_response(status)
            if body:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/v1/models":
                self.send(200, dump(models).encode())
            elif path == "/version":
                self.send(200, dump({"version": VERSION}).encode())
            elif path in ("/health", "/ping"):
                self.send(200)
            elif path == "/metrics":
                self.send(200, metrics.encode(), "text/plain; version=0.0.4; charset=utf-8")
            else:
                self.send(404, dump({"detail": "Not Found"}).encode())

        do_HEAD = do_GET

        def log_message(self, *_):
            pass

    return Handler


def main(argv):
    args = parse(argv)
    # A prober asks some thirty paths at once; the default backlog of 5 drops the rest's SYNs,
    # and each retry costs a second. uvicorn's backlog is 2048.
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer((args.host, args.port), handler(args))
    server.daemon_threads = True
    print(f"INFO: vLLM API server version {VERSION} serving {args.model} on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
