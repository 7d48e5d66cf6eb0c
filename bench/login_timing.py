#!/usr/bin/env python3
"""Login timing: known, unknown and locked usernames must cost the same.

One keep-alive connection sends password grants in rotation: a wrong password of a
known user, an unknown user, the right password of a locked account. Interleaving
request by request means the machine's drift (frequency, steal, other load) reaches
the three cases alike, so their medians can be compared to a few percent.

    bench/login_timing.py http://127.0.0.1:18090 300   # 300 rounds of the three
Prints one line per case (median, p10, p90 in ms) and the spread of the medians.
Only the given local base URL is contacted; the run ends after the given rounds.
"""

import http.client
import statistics
import sys
import time
import urllib.parse

CASES = {
    "known": ("bench", "bench-user", "wrong"),
    "unknown": ("bench", "nobody-here", "wrong"),
    "locked": ("bench-locked", "locked-user", "locked-password"),
}


def body(username, password):
    return urllib.parse.urlencode(
        {"grant_type": "password", "client_id": "app", "username": username, "password": password}
    )


def main():
    base = urllib.parse.urlparse(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    timings = {case: [] for case in CASES}
    statuses = {case: set() for case in CASES}
    for _ in range(rounds):
        for case, (realm, username, password) in CASES.items():
            path = f"/realms/{realm}/protocol/openid-connect/token"
            started = time.perf_counter()
            conn.request("POST", path, body(username, password), headers)
            response = conn.getresponse()
            response.read()
            timings[case].append((time.perf_counter() - started) * 1000)
            statuses[case].add(response.status)
    medians = {}
    for case, values in timings.items():
        values.sort()
        medians[case] = statistics.median(values)
        p10 = values[len(values) // 10]
        p90 = values[len(values) * 9 // 10]
        print(
            f"login_{case}\trequests={len(values)}\tmedian_ms={medians[case]:.2f}"
            f"\tp10_ms={p10:.2f}\tp90_ms={p90:.2f}\tstatuses={sorted(statuses[case])}"
        )
    spread = 100 * (max(medians.values()) - min(medians.values())) / min(medians.values())
    print(f"login_timing_spread\t{spread:.2f}%")


if __name__ == "__main__":
    main()
