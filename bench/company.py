"""Prints a company user token of bench-user: as bench-admin, creates a company
and a subscription to the API `bench`, makes bench-user a member, assigns them
and generates the token, through the management API.

    python3 bench/company.py BASE ADMIN_ACCESS_TOKEN USER_ACCESS_TOKEN
"""

import random
import sys

from management import call, subject


def main():
    base, admin, user = sys.argv[1:4]
    user_id = subject(user)
    company = call(base, admin, "POST", "/companies", {"name": f"bench {random.random()}"})["id"]
    grants = [
        {"type": "device", "identifier": "d-1", "actions": ["AccessDeviceResources"]},
        {"type": "device", "identifier": "d-2", "actions": ["AccessDeviceResources"]},
        {"type": "device", "identifier": "*", "actions": ["ListDevices"]},
    ]
    subscription = call(
        base, admin, "POST", f"/companies/{company}/subscriptions",
        {"name": "bench", "audience": "bench", "permissions": grants},
    )["id"]
    call(base, admin, "PUT", f"/companies/{company}/members/{user_id}", {"roles": []})
    call(base, admin, "PUT", f"/companies/{company}/subscriptions/{subscription}/assignments/{user_id}")
    token = call(
        base, admin, "POST", f"/companies/{company}/subscriptions/{subscription}/tokens",
        {"user_id": user_id, "name": "bench"},
    )["token"]
    print(token)


if __name__ == "__main__":
    main()
