#!/usr/bin/env python3
"""Records the host and endpoint parts of the demo observation (fixtures/demo/observation.json).

Starts a stand-in for the demo's vLLM: an executable named `vllm` (so its command line reads
`vllm serve MODEL ...` and its name is `vllm`) that replays fixtures/demo/endpoints on a loopback
port, with the environment a drifting deployment would have (`VLLM_LOGGING_LEVEL=DEBUG` against
the spec's INFO; a token, which the probe redacts). Then runs the real host and endpoint probes
on it (`modelspec facts --port PORT --json`) and keeps their sections, rewritten to the demo
node: port 8000, the pid the GPU recording attributes the GPUs to (31337), and the machine facts
of a GPU node in place of this one's (hostname, cores, memory, kernel). The GPU part stays as
recorded from fixtures/gpus/demo-node.json. Run after changing the answers or the formats:

    cargo build --release && python3 scripts/demo/record_endpoint.py
"""

import json
import os
import stat
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEMO = os.path.join(ROOT, "fixtures", "demo")
MODEL = "mistralai/Mistral-Small-24B-Instruct-2501"
DEMO_PID = 31337

STAND_IN = """#!/usr/bin/python3
import sys, time
sys.path.insert(0, {scripts!r})
import fixture_server
server = fixture_server.serve(fixture_server.answers({endpoints!r}))
print(server.server_address[1], flush=True)
time.sleep(120)
"""

# The machine the demo pretends to be: a GPU node, not the one recording.
DEMO_SYSTEM = {
    "hostname": {"status": "ok", "value": "demo-node"},
    "os_name": {"status": "ok", "value": "Ubuntu"},
    "os_version": {"status": "ok", "value": "22.04"},
    "kernel": {"status": "ok", "value": "6.8.0-49-generic"},
    "logical_cores": {"status": "ok", "value": 64},
    "physical_cores": {"status": "ok", "value": 32},
    "total_memory_bytes": {"status": "ok", "value": 549755813888},
    "available_memory_bytes": {"status": "ok", "value": 412316860416},
}


def replace_pid(value, old, new):
    """Every occurrence of the recorder's pid, as a number or inside a string, becomes `new`."""
    if isinstance(value, dict):
        return {k: replace_pid(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_pid(v, old, new) for v in value]
    if isinstance(value, int) and value == old:
        return new
    if isinstance(value, str):
        return value.replace(f"/proc/{old}/", f"/proc/{new}/").replace(f"pid {old}", f"pid {new}")
    return value


def main():
    binary = os.environ.get("MODELSPEC_BIN", os.path.join(ROOT, "target", "release", "modelspec"))
    with tempfile.TemporaryDirectory() as tmp:
        stand_in = os.path.join(tmp, "vllm")
        with open(stand_in, "w") as f:
            f.write(STAND_IN.format(scripts=os.path.join(ROOT, "scripts"), endpoints=os.path.join(DEMO, "endpoints")))
        os.chmod(stand_in, stat.S_IRWXU)
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "VLLM_LOGGING_LEVEL": "DEBUG",
            "HF_TOKEN": "hf_demoTokenThatIsNeverPrinted0123456789",
            "CUDA_VISIBLE_DEVICES": "0,1",
        }
        server = subprocess.Popen(
            [stand_in, "serve", MODEL, "--port", "8000", "--max-model-len", "32768", "--dtype", "auto"],
            stdout=subprocess.PIPE, text=True, env=env)
        try:
            port = int(server.stdout.readline())
            time.sleep(0.2)
            out = subprocess.run(
                [binary, "facts", "--port", str(port), "--nvml-lib", "/nonexistent", "--json"],
                capture_output=True, text=True, check=True)
        finally:
            server.kill()
            server.wait()
    recorded = json.loads(out.stdout.replace(f"127.0.0.1:{port}", "127.0.0.1:8000"))
    recorded = replace_pid(recorded, server.pid, DEMO_PID)
    host, endpoint = recorded["host"], recorded["endpoint"]
    snapshot = host["snapshot"]
    snapshot["system"] = DEMO_SYSTEM
    snapshot["container"] = {"in_container": False, "runtime": None, "evidence": []}
    for s in snapshot["servers"]:
        s["port"] = 8000
        for c in s["candidates"].get("value", []):
            c["process"]["found_by"]["port"] = 8000
            c["process"]["found_by"]["addresses"] = ["0.0.0.0:8000"]
            c["network"]["listening"] = ["0.0.0.0:8000"]
            # The stand-in's interpreter and folders are this machine's; the demo's are vLLM's.
            c["process"]["exe"] = {"status": "ok", "value": "/usr/bin/python3.12"}
            c["process"]["cwd"] = {"status": "ok", "value": "/srv/vllm"}
            c["process"]["user"] = {"status": "ok", "value": {"uid": 1000, "name": "vllm"}}
            argv = c["process"]["argv"].get("value") or []
            c["process"]["argv"]["value"] = ["/usr/local/bin/vllm"] + argv[2:] if len(argv) > 2 else argv
    for target in endpoint["snapshot"]["targets"]:
        target["port"] = 8000
    obs_path = os.path.join(DEMO, "observation.json")
    with open(obs_path) as f:
        observation = json.load(f)
    observation["host"] = host
    observation["endpoint"] = endpoint
    with open(obs_path, "w") as f:
        json.dump(observation, f, indent=2)
        f.write("\n")
    exchanges = len(endpoint["snapshot"]["targets"][0]["exchanges"])
    print(f"recorded the host probe and {exchanges} exchanges into {obs_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
