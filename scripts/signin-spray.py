#!/usr/bin/env python3
"""A password spray against a scimd portal's sign-in, for measuring (docs/performance.md,
"SCIM during a sign-in spray"): THREADS clients each loop for SECONDS over
GET /signin (for the form's CSRF cookie) and POST /signin with a wrong password for a
new username every time.

With --forwarded, every attempt claims another client address in X-Forwarded-For
(198.18.0.0/15, the benchmarking range): against a server started with
--trusted-proxies 127.0.0.1 that is a spray from many addresses, the worst case, in which
no per-address limit stops it and every attempt reaches the password check. Without it the
spray comes from one address, as the review measured it.

Prints one line of JSON: attempts by status. Loopback only.

Usage: scripts/signin-spray.py BASE_URL [--threads N] [--seconds S] [--forwarded]
"""

import argparse
import http.client
import json
import threading
import time
import urllib.parse
from collections import Counter


def worker(host, port, until, forwarded, tid, counts, lock):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    n = 0
    local = Counter()
    while time.monotonic() < until:
        n += 1
        headers = {}
        if forwarded:
            k = tid * 1_000_000 + n
            headers["X-Forwarded-For"] = f"198.{18 + (k >> 16) % 2}.{(k >> 8) & 255}.{k & 255}"
        try:
            conn.request("GET", "/signin", headers=headers)
            r = conn.getresponse()
            r.read()
            cookie = ""
            for name, value in r.getheaders():
                if name.lower() == "set-cookie" and value.startswith("scimd_signin="):
                    cookie = value.split(";", 1)[0]
            token = cookie.split("=", 1)[1] if cookie else ""
            body = urllib.parse.urlencode(
                {"csrf": token, "username": f"spray{tid}x{n}", "password": "Winter2026!"}
            )
            headers.update(
                {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
            )
            conn.request("POST", "/signin", body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            local[r.status] += 1
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
        except (OSError, http.client.HTTPException):
            local["error"] += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
    with lock:
        counts.update(local)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--forwarded", action="store_true")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.base)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback only")
    until = time.monotonic() + a.seconds
    counts, lock = Counter(), threading.Lock()
    threads = [
        threading.Thread(
            target=worker,
            args=(u.hostname, u.port or 80, until, a.forwarded, i, counts, lock),
        )
        for i in range(a.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"seconds": a.seconds, "threads": a.threads, "attempts": dict(counts)}))


if __name__ == "__main__":
    main()
