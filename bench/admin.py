"""Small helper for bench/run.sh: the reference server's admin API and fields of its
JSON line, with the standard library only.

    python3 admin.py SERVER_JSON field base_url|ca_pem_path|client_id|client_secret
    python3 admin.py SERVER_JSON reset | count | latency MS | ttl SECS
"""

import json
import ssl
import sys
import urllib.request


def main() -> None:
    path, cmd, *rest = sys.argv[1:]
    with open(path) as f:
        info = json.loads(f.readline())
    if cmd == "field":
        dev = info["clients"][0]
        print({"client_id": dev["client_id"], "client_secret": dev["client_secret"]}.get(rest[0], info.get(rest[0])))
        return
    ctx = ssl.create_default_context(cafile=info["ca_pem_path"])

    def call(method: str, route: str, body: object = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(info["base_url"] + route, data=data, method=method)
        req.add_header("X-Admin-Token", info["admin_token"])
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return json.loads(resp.read())

    if cmd == "reset":
        call("POST", "/admin/reset")
    elif cmd == "count":
        print(call("GET", "/admin/counters")["token_requests"]["total"])
    elif cmd == "latency":
        call("DELETE", "/admin/faults")
        if int(rest[0]):
            call("POST", "/admin/faults", {"target": "token", "latency_ms": int(rest[0])})
    elif cmd == "ttl":
        call("POST", "/admin/config", {"token_ttl_secs": int(rest[0])})
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
