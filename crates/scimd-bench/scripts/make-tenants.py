#!/usr/bin/env python3
"""Creates N tenants on a running scimd through the operator API and writes a
--tenants-file for scimd-bench (one `SCIM_BASE_URL TOKEN` a line).

usage: make-tenants.py ROOT_URL OPERATOR_TOKEN COUNT OUT_FILE [--prefix t] [--parallel 4] [--start 0]

Slugs are PREFIX0000, PREFIX0001, ...; an existing line of OUT_FILE is kept (the script
can be re-run to resume). Each creation hashes the tenant administrator's password
(Argon2) on the server, so the rate is bounded by the server's CPU.
"""
import json, sys, time, urllib.request, urllib.error, concurrent.futures as cf, argparse

p = argparse.ArgumentParser()
p.add_argument("root"); p.add_argument("token"); p.add_argument("count", type=int); p.add_argument("out")
p.add_argument("--prefix", default="t"); p.add_argument("--parallel", type=int, default=4)
p.add_argument("--start", type=int, default=0)
a = p.parse_args()

def create(i):
    slug = f"{a.prefix}{i:04d}"
    body = json.dumps({"name": f"Bench tenant {slug}", "slug": slug}).encode()
    req = urllib.request.Request(a.root.rstrip("/") + "/api/v1/tenants", data=body, method="POST",
        headers={"Authorization": "Bearer " + a.token, "Content-Type": "application/json"})
    for attempt in range(5):
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                j = json.load(r)
                return i, f"{j['scimUrl']} {j['scimToken']}"
        except urllib.error.HTTPError as e:
            msg = e.read()[:300]
            if e.code in (429, 503):
                time.sleep(1); continue
            raise SystemExit(f"{slug}: HTTP {e.code} {msg!r}")
    raise SystemExit(f"{slug}: gave up")

t0 = time.time()
lines = {}
with cf.ThreadPoolExecutor(a.parallel) as ex:
    for n, (i, line) in enumerate(ex.map(create, range(a.start, a.start + a.count)), 1):
        lines[i] = line
        if n % 100 == 0:
            print(f"{n} tenants, {time.time()-t0:.1f} s", file=sys.stderr, flush=True)
with open(a.out, "a") as f:
    for i in sorted(lines):
        f.write(lines[i] + "\n")
print(f"created {a.count} tenants in {time.time()-t0:.1f} s", file=sys.stderr)
