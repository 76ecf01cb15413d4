#!/usr/bin/env python3
"""Input-bounds figures of docs/security.md ("Input", "Measured"), against a scimd it starts.

Two scenarios, each on a fresh SQLite database in a temporary folder (or --database):

  rss     Creates --users users with every value at the input limits (a userName of
          --max-identifier-bytes, strings of --max-string-bytes, as many values as
          --max-values allows and the body limit holds: about 4 MiB of JSON each), then
          --listers clients page through GET /Users (count=100, then count=1000) --rounds
          times. Prints the server's peak RSS (VmHWM) after seeding and, reset, while
          listing. A scimd without input limits takes the same bodies, for comparison.
  lookup  Creates --users ordinary users with 5 emails each, then measures sequential
          `userName eq` lookups for --seconds idle, and again while --scans clients loop a
          worst-case filter (50 `emails.value co` terms that match nothing, so every
          email is compared with every term). Prints p50/p90/p99/max of both, and the
          scans' answers (200, or 400 tooMany when cut at the statement time limit).

Standard library only. Usage:

  cargo build --release -p scimd
  scripts/input-bench.py rss    --scimd target/release/scimd
  scripts/input-bench.py lookup --scimd target/release/scimd

Extra server flags: --server-arg=--max-page-bytes=4MiB (repeatable).
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
# The defaults of scimd serve (docs/security.md, "Input").
DEFAULTS = {
    "max-identifier-bytes": 1024,
    "max-string-bytes": 16384,
    "max-values": 100,
    "max-body-bytes": 4 * 1024 * 1024,
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """A scimd serve process of this script's own, with a token made by `token create`."""

    token = ""

    def __init__(self, scimd, database, args, folder):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMD_")}
        self.port = free_port()
        self.log = open(os.path.join(folder, "server.log"), "w")
        self.proc = subprocess.Popen(
            [scimd, "serve", "--listen", f"127.0.0.1:{self.port}", "--database", database,
             "--log-level", "warn", *args],
            env=env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while True:
            try:
                status, _ = self.request("GET", "/healthz", base="")
                if status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"scimd did not start; see {self.log.name}")
            time.sleep(0.2)
        # The first start made the tenant; a token of this script's own.
        self.token = subprocess.run(
            [scimd, "token", "create", "--name", "bench", "--database", database],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip().split()[-1]

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def request(self, method, path, body=None, conn=None, base="/scim/v2"):
        """(status, parsed JSON or None) of one request, on `conn` when given."""
        own = conn is None
        conn = conn or self.connection()
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/scim+json"
        conn.request(method, base + path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        if own:
            conn.close()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, None

    def proc_status(self, key):
        """A field of /proc/PID/status in MiB (VmRSS, VmHWM)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def reset_peak(self):
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def in_parallel(n, work):
    """Runs work(i) for i in 0..n on n threads; returns their results."""
    results = [None] * n

    def run(i):
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def sized(prefix, size, suffix=""):
    """A string of exactly `size` bytes: prefix, filler, suffix."""
    return prefix + "x" * (size - len(prefix) - len(suffix)) + suffix


def user_at_limits(i, limits):
    """A user with every value at the limits, its JSON within the body limit (4 KiB spare)."""
    s = limits["max-string-bytes"]
    budget = limits["max-body-bytes"] - 4096
    body = {
        "schemas": [USER],
        "userName": sized(f"u{i:05}-", limits["max-identifier-bytes"], "@example.com"),
        "externalId": sized(f"e{i:05}-", limits["max-identifier-bytes"]),
        "name": {"givenName": sized("g", s), "familyName": sized("f", s)},
        "displayName": sized("d", s),
        "title": sized("t", s),
        "emails": [],
        "phoneNumbers": [],
        "roles": [],
    }
    size = len(json.dumps(body))
    for attr, key in [("emails", "value"), ("phoneNumbers", "value"), ("roles", "value")]:
        for j in range(limits["max-values"]):
            v = {key: sized(f"{j:03}-{i:05}-", s, "@example.com" if attr == "emails" else ""),
                 "type": "work"}
            n = len(json.dumps(v)) + 2
            if size + n > budget:
                break
            body[attr].append(v)
            size += n
    body["emails"][0]["primary"] = True
    return {k: v for k, v in body.items() if v != []}


def rss(args, server, folder):
    limits = dict(DEFAULTS)
    probe = user_at_limits(0, limits)
    print(f"seeding {args.users} users of {len(json.dumps(probe)) / 2**20:.2f} MiB each "
          f"({', '.join(f'{len(v)} {k}' for k, v in probe.items() if isinstance(v, list) and k != 'schemas')})")

    def seed(t):
        conn = server.connection()
        for i in range(t, args.users, 2):
            status, body = server.request("POST", "/Users", user_at_limits(i, limits), conn)
            if status != 201:
                raise SystemExit(f"POST /Users: {status} {json.dumps(body)[:300]}")
        conn.close()

    print(f"server RSS at start {server.proc_status('VmRSS'):.0f} MiB")
    started = time.time()
    in_parallel(2, seed)
    print(f"seeded in {time.time() - started:.1f} s; server RSS {server.proc_status('VmRSS'):.0f} MiB,"
          f" peak while seeding {server.proc_status('VmHWM'):.0f} MiB")
    server.reset_peak()
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(server.proc_status("VmRSS"))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()

    def lister(_):
        conn = server.connection()
        pages, sizes = 0, []
        for _ in range(args.rounds):
            for count in (100, 1000):
                start = 1
                while True:
                    status, page = server.request(
                        "GET", f"/Users?count={count}&startIndex={start}", conn=conn)
                    if status != 200:
                        raise SystemExit(f"GET /Users: {status} {json.dumps(page)[:300]}")
                    pages += 1
                    sizes.append(page["itemsPerPage"])
                    if page["itemsPerPage"] == 0 or start + page["itemsPerPage"] > page["totalResults"]:
                        break
                    start += page["itemsPerPage"]
        conn.close()
        return pages, sizes

    started = time.time()
    results = in_parallel(args.listers, lister)
    elapsed = time.time() - started
    stop.set()
    sampler.join()
    pages = sum(r[0] for r in results)
    items = sorted({n for r in results for n in r[1]})
    print(f"listing: {args.listers} clients, {pages} pages in {elapsed:.1f} s "
          f"(itemsPerPage seen: {items})")
    print(f"peak RSS while listing: {server.proc_status('VmHWM'):.0f} MiB "
          f"(sampled max {max(samples):.0f} MiB)")


def percentiles(xs):
    xs = sorted(xs)
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    return (f"n={len(xs)} p50={pick(0.5):.1f} ms p90={pick(0.9):.1f} ms "
            f"p99={pick(0.99):.1f} ms max={xs[-1]:.1f} ms")


def lookup(args, server, folder):
    def seed(t):
        conn = server.connection()
        for i in range(t, args.users, 4):
            body = {
                "schemas": [USER],
                "userName": f"user{i:06}@example.com",
                "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
                "emails": [{"value": f"user{i:06}.{k}@mail{k}.example.com", "type": "work",
                            "primary": k == 0} for k in range(5)],
            }
            status, resp = server.request("POST", "/Users", body, conn)
            if status != 201:
                raise SystemExit(f"POST /Users: {status} {json.dumps(resp)[:300]}")
        conn.close()

    started = time.time()
    in_parallel(4, seed)
    print(f"seeded {args.users} users with 5 emails each in {time.time() - started:.1f} s")

    def lookups():
        conn = server.connection()
        times = []
        deadline = time.time() + args.seconds
        n = 0
        while time.time() < deadline:
            n += 1
            q = urllib.parse.quote(f'userName eq "user{(n * 7919) % args.users:06}@example.com"')
            t = time.perf_counter()
            status, page = server.request("GET", f"/Users?filter={q}", conn=conn)
            times.append((time.perf_counter() - t) * 1000)
            if status != 200 or page["totalResults"] != 1:
                raise SystemExit(f"lookup: {status} {json.dumps(page)[:300]}")
        conn.close()
        return times

    idle = lookups()
    print(f"idle lookups:    {percentiles(idle)}")

    worst = " or ".join(f'emails.value co "zq{k:02}w"' for k in range(50))
    q = urllib.parse.quote(worst)
    stop = threading.Event()
    answers = [[] for _ in range(args.scans)]

    def scan(i):
        conn = server.connection()
        while not stop.is_set():
            t = time.perf_counter()
            status, body = server.request("GET", f"/Users?filter={q}&count=100", conn=conn)
            answers[i].append((status, (body or {}).get("scimType"),
                               (time.perf_counter() - t) * 1000))
        conn.close()

    scanners = [threading.Thread(target=scan, args=(i,)) for i in range(args.scans)]
    for t in scanners:
        t.start()
    time.sleep(1.0)
    loaded = lookups()
    stop.set()
    for t in scanners:
        t.join()
    print(f"loaded lookups:  {percentiles(loaded)}")
    flat = [a for xs in answers for a in xs]
    kinds = {}
    for status, scim_type, _ in flat:
        key = f"{status} {scim_type}" if scim_type else str(status)
        kinds[key] = kinds.get(key, 0) + 1
    print(f"worst-case filters ({args.scans} clients, 50 terms): {len(flat)} answers {kinds}; "
          f"{percentiles([a[2] for a in flat])}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", choices=["rss", "lookup"])
    p.add_argument("--scimd", default="target/release/scimd")
    p.add_argument("--database", help="database URL (default: SQLite in a temporary folder)")
    p.add_argument("--server-arg", action="append", default=[])
    p.add_argument("--users", type=int, help="rss: 40; lookup: 20000")
    p.add_argument("--listers", type=int, default=4)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seconds", type=float, default=20.0, help="lookup: seconds of lookups, idle and loaded")
    p.add_argument("--scans", type=int, default=5)
    args = p.parse_args()
    if args.users is None:
        args.users = 40 if args.scenario == "rss" else 20000
    with tempfile.TemporaryDirectory(prefix="scimd-input-bench-") as folder:
        database = args.database or f"sqlite://{folder}/scimd.db"
        server = Server(args.scimd, database, args.server_arg, folder)
        try:
            (rss if args.scenario == "rss" else lookup)(args, server, folder)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
