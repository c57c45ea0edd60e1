#!/usr/bin/python3
"""Imitations of the cloud instance metadata services, on loopback, for `--cloud-metadata` tests.

    imds.py PROVIDER [--instance-type T] [--spot] [--region R] [--redirect]

PROVIDER is aws, gcp or azure. Each answers the requests its cloud documents, and refuses the
way its cloud does when a required header is missing:

* aws: IMDSv2. `PUT /latest/api/token` needs X-aws-ec2-metadata-token-ttl-seconds; every
  /latest/meta-data/ request needs X-aws-ec2-metadata-token with that token (401 without).
* gcp: every /computeMetadata/v1/ request needs `Metadata-Flavor: Google` (403 without), and
  every answer carries that header back.
* azure: /metadata/instance/compute needs `Metadata: true` and an api-version (400 without);
  the answer is the compute document's JSON.

--redirect makes every metadata answer a 302 to another host, which a client must not follow.
Prints the port it listens on, then serves until killed. Standard library only.
"""

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "AQAEAimds-imitation-session-token=="


def handler(args):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def reply(self, status, body, content_type="text/plain", headers=()):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def redirected(self):
            if args.redirect:
                self.send_response(302)
                self.send_header("Location", "http://metadata.example.invalid/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            return False

        def do_PUT(self):
            if args.provider == "aws" and self.path == "/latest/api/token":
                if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.reply(400, "missing TTL header")
                return self.reply(200, TOKEN)
            self.reply(404, "not found")

        def do_GET(self):
            url = urlsplit(self.path)
            if args.provider == "aws":
                return self.aws(url.path)
            if args.provider == "gcp":
                return self.gcp(url.path)
            if args.provider == "azure":
                return self.azure(url.path, parse_qs(url.query))
            self.reply(404, "not found")

        def aws(self, path):
            if not path.startswith("/latest/meta-data/"):
                return self.reply(404, "not found")
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                return self.reply(401, "unauthorized")
            if self.redirected():
                return
            values = {
                "instance-type": args.instance_type,
                "instance-life-cycle": "spot" if args.spot else "on-demand",
                "placement/region": args.region,
            }
            key = path[len("/latest/meta-data/"):]
            if key in values:
                return self.reply(200, values[key])
            self.reply(404, "not found")

        def gcp(self, path):
            flavor = [("Metadata-Flavor", "Google")]
            if self.headers.get("Metadata-Flavor") != "Google":
                return self.reply(403, "Missing Metadata-Flavor:Google header.", headers=flavor)
            if self.redirected():
                return
            values = {
                "/computeMetadata/v1/instance/machine-type": f"projects/123456789/machineTypes/{args.instance_type}",
                "/computeMetadata/v1/instance/scheduling/preemptible": "TRUE" if args.spot else "FALSE",
                "/computeMetadata/v1/instance/zone": f"projects/123456789/zones/{args.region}-a",
            }
            if path in values:
                return self.reply(200, values[path], headers=flavor)
            self.reply(404, "not found", headers=flavor)

        def azure(self, path, query):
            if path != "/metadata/instance/compute":
                return self.reply(404, "not found")
            if self.headers.get("Metadata") != "true":
                return self.reply(400, json.dumps({"error": "Bad request. Required metadata header not specified"}),
                                  "application/json")
            if "api-version" not in query:
                return self.reply(400, json.dumps({"error": "Bad request. api-version was not specified"}),
                                  "application/json")
            if self.redirected():
                return
            compute = {
                "vmSize": args.instance_type,
                "priority": "Spot" if args.spot else "Regular",
                "location": args.region,
                "osType": "Linux",
            }
            self.reply(200, json.dumps(compute), "application/json; charset=utf-8")

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("provider", choices=["aws", "gcp", "azure"])
    p.add_argument("--instance-type", default="p5.48xlarge")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--spot", action="store_true")
    p.add_argument("--redirect", action="store_true")
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(args))
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
