"""Prints an endpoint's id and a secondary token assigned to it for GET: as
bench-admin, creates an endpoint with token authentication and the token,
through the management API.

    python3 bench/endpoint.py BASE ADMIN_ACCESS_TOKEN
"""

import json
import random
import sys
import urllib.request


def call(base, bearer, method, path, body=None):
    request = urllib.request.Request(
        f"{base}/admin/realms/bench{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {bearer}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        text = response.read()
    return json.loads(text) if text else None


def main():
    base, admin = sys.argv[1:3]
    suffix = random.randrange(1 << 30)
    endpoint = call(
        base, admin, "POST", "/endpoints",
        {"name": "bench", "path": f"/bench/{suffix}", "authentication": "token"},
    )["endpoint"]["id"]
    token = call(base, admin, "POST", "/endpoint-tokens", {"name": "bench app"})
    call(base, admin, "PUT", f"/endpoints/{endpoint}/tokens/{token['id']}", {"methods": ["GET"]})
    print(endpoint, token["token"])


if __name__ == "__main__":
    main()
