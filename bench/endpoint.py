"""Prints an endpoint's id and a secondary token assigned to it for GET: as
bench-admin, creates an endpoint with token authentication and the token,
through the management API.

    python3 bench/endpoint.py BASE ADMIN_ACCESS_TOKEN
"""

import random
import sys

from management import call


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
