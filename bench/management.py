"""The bench realm's management API, for the scenario set-up scripts."""

import base64
import json
import urllib.request


def call(base, bearer, method, path, body=None):
    """`method path` under /admin/realms/bench with a bearer token; the JSON answer."""
    request = urllib.request.Request(
        f"{base}/admin/realms/bench{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {bearer}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        text = response.read()
    return json.loads(text) if text else None


def subject(access_token):
    """The `sub` of an access token (unverified: the bench issued it)."""
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
