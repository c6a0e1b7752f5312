#!/usr/bin/python3
"""python-diskcache running blobcache_bench's workloads (see blobcache_bench.cpp).

Run with Debian's /usr/bin/python3 (python3-diskcache 5.4). Default settings,
except that the clean workload turns culling off while it fills the cache
(cull_limit=0), or the prefill itself would delete the expired entries.

Workload mapping: put = Cache.set (one transaction each), get = Cache.get,
list_10k = list(Cache.iterkeys()) (diskcache keeps no per-entry metadata to
list), clean = Cache.expire(), put_many = 1000 sets inside Cache.transact(),
put_stream = Cache.set(read=True) from a file-like object, open = Cache.get
(read=True) read in 64 KiB pieces; mixed_p* are processes of this script.

Prints one JSON object per line on stdout, as blobcache_bench does.
"""
import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import diskcache

KIB = 1024
MIB = 1024 * KIB
MIXED_KEYS = 2000

_POOL = random.Random(42).randbytes(4 * MIB)


def value(i, size):
    start = (i * 4099) % (len(_POOL) - size)
    return _POOL[start:start + size]


def key_name(i):
    return "k%08d" % i


class TempDir:
    def __init__(self, base):
        self.path = tempfile.mkdtemp(prefix="blobcache-bench-", dir=base)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def emit(workload, reps, unit="ops/s", **extra):
    rec = {"system": "diskcache", "workload": workload, "unit": unit,
           "median": statistics.median(reps), "reps": reps}
    rec.update(extra)
    print(json.dumps(rec), flush=True)
    print("  diskcache %s: %.6g %s" % (workload, rec["median"], unit), file=sys.stderr)


def repeat(cfg, body):
    """One warm-up (rep -1), then cfg.reps timed repetitions of body(rep)."""
    return [r for rep, r in ((rep, body(rep)) for rep in range(-1, cfg.reps)) if rep >= 0]


def scaled(cfg, n):
    return max(1, int(n * cfg.scale))


def prefill(cache, n, size):
    for first in range(0, n, 1000):
        with cache.transact():
            for i in range(first, min(n, first + 1000)):
                cache.set(key_name(i), value(i, size))


def run_put(cfg, name, size, n, batch=1):
    """n sets of new keys; batch > 1 groups them in transact() blocks."""
    keys = [key_name(i) for i in range(n)]
    values = [value(i, size) for i in range(n)]

    def body(_rep):
        with TempDir(cfg.tmp) as d:
            cache = diskcache.Cache(d)
            t0 = time.perf_counter()
            if batch == 1:
                for k, v in zip(keys, values):
                    cache.set(k, v)
            else:
                for first in range(0, n, batch):
                    with cache.transact():
                        for i in range(first, min(n, first + batch)):
                            cache.set(keys[i], values[i])
            dt = time.perf_counter() - t0
            cache.close()
            return n / dt

    emit(name, repeat(cfg, body))


def run_get(cfg, name, size, nkeys, n, missing):
    with TempDir(cfg.tmp) as d:
        with diskcache.Cache(d) as cache:
            prefill(cache, nkeys, size)
        cache = diskcache.Cache(d)
        keys = [key_name(i + (100_000_000 if missing else 0)) for i in range(nkeys)]

        def body(rep):
            rng = random.Random(1000 + rep + 1)
            order = [keys[rng.randrange(nkeys)] for _ in range(n)]
            total = 0
            t0 = time.perf_counter()
            for k in order:
                v = cache.get(k)
                if (v is None) != missing:
                    raise SystemExit("%s: unexpected hit or miss" % name)
                if v is not None:
                    total += len(v)
            dt = time.perf_counter() - t0
            if total != (0 if missing else n * size):
                raise SystemExit("%s: wrong sizes" % name)
            return n / dt

        emit(name, repeat(cfg, body))
        cache.close()


def run_list(cfg):
    n = 10_000
    with TempDir(cfg.tmp) as d:
        with diskcache.Cache(d) as cache:
            prefill(cache, n, KIB)
        cache = diskcache.Cache(d)

        def body(_rep):
            calls = 3
            t0 = time.perf_counter()
            for _ in range(calls):
                if len(list(cache.iterkeys())) != n:
                    raise SystemExit("list: wrong count")
            return n * calls / (time.perf_counter() - t0)

        emit("list_10k", repeat(cfg, body), unit="entries/s")
        cache.close()


def run_clean(cfg):
    rates, ms = [], []
    for rep in range(-1, min(cfg.reps, 3)):
        total = 20_000 if rep < 0 else 100_000
        with TempDir(cfg.tmp) as d:
            with diskcache.Cache(d, cull_limit=0) as cache:
                for first in range(0, total, 1000):
                    with cache.transact():
                        for i in range(first, first + 1000):
                            # Even keys expire at once, odd ones in an hour.
                            cache.set(key_name(i), value(i, 256),
                                      expire=1e-6 if i % 2 == 0 else 3600)
            time.sleep(0.01)
            cache = diskcache.Cache(d)
            t0 = time.perf_counter()
            removed = cache.expire()
            dt = time.perf_counter() - t0
            cache.close()
            if removed != total // 2:
                raise SystemExit("clean: removed %d" % removed)
            if rep >= 0:
                rates.append(removed / dt)
                ms.append(dt * 1000)
    emit("clean_50k_of_100k", rates, unit="entries/s", median_ms=statistics.median(ms))


def mixed_loop(cache, n, seed):
    keys = [key_name(i) for i in range(MIXED_KEYS)]
    rng = random.Random(seed)
    for i in range(n):
        r = rng.getrandbits(64)
        k = r % MIXED_KEYS
        if (r >> 32) % 10 == 0:
            cache.set(keys[k], value(k + i, KIB))
        elif cache.get(keys[k]) is None:
            raise SystemExit("mixed: missing key")


def run_mixed_processes(cfg, procs):
    total = scaled(cfg, 20_000)
    with TempDir(cfg.tmp) as d:
        with diskcache.Cache(d) as cache:
            prefill(cache, MIXED_KEYS, KIB)

        def body(rep):
            children = [subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--child", "mixed", "--dir", d,
                 "--ops", str(total // procs), "--seed", str((rep + 2) * 100 + p)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for p in range(procs)]
            for c in children:
                if c.stdout.readline().strip() != "ready":
                    raise SystemExit("child not ready")
            for c in children:
                c.stdin.write("g")
                c.stdin.flush()
            first, last = float("inf"), 0.0
            for c in children:
                t0, t1 = map(float, c.stdout.readline().split())
                first, last = min(first, t0), max(last, t1)
                if c.wait() != 0:
                    raise SystemExit("child failed")
            return total / (last - first)

        emit("mixed_p%d" % procs, repeat(cfg, body))


class PoolReader:
    """A file-like object serving `total` bytes without holding them."""

    def __init__(self, total):
        self.remaining = total
        self.served = 0

    def read(self, size=-1):
        n = self.remaining if size is None or size < 0 else min(size, self.remaining)
        n = min(n, MIB)
        self.remaining -= n
        self.served += 1
        return value(self.served, n) if n else b""


def vm_hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    return 0.0


def run_stream(cfg):
    mib = scaled(cfg, 256)
    put, opened, rss, hwm = [], [], [], []
    for rep in range(-1, min(cfg.reps, 3)):
        size = max(1, mib // 8) if rep < 0 else mib
        with TempDir(cfg.tmp) as d:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "stream",
                                  "--dir", d, "--mib", str(size)],
                                 check=True, stdout=subprocess.PIPE, text=True).stdout
        put_s, open_s, child_rss_kib, child_hwm_kib = map(float, out.split())
        if rep < 0:
            continue
        put.append(size / put_s)
        opened.append(size / open_s)
        rss.append(child_rss_kib / 1024)
        hwm.append(child_hwm_kib / 1024)
    emit("put_stream_256m", put, unit="MiB/s", peak_rss_mib=max(rss), vm_hwm_mib=max(hwm))
    emit("open_256m", opened, unit="MiB/s")


def child_main(args):
    if args.child == "mixed":
        cache = diskcache.Cache(args.dir)
        print("ready", flush=True)
        sys.stdin.read(1)
        t0 = time.monotonic()
        mixed_loop(cache, args.ops, args.seed)
        t1 = time.monotonic()
        print("%.9f %.9f" % (t0, t1), flush=True)
        cache.close()
        return
    if args.child == "stream":
        size = args.mib * MIB
        cache = diskcache.Cache(args.dir)
        t0 = time.perf_counter()
        cache.set("big", PoolReader(size), read=True)
        t1 = time.perf_counter()
        total = 0
        with cache.get("big", read=True) as f:
            while True:
                chunk = f.read(64 * KIB)
                if not chunk:
                    break
                total += len(chunk)
        t2 = time.perf_counter()
        if total != size:
            raise SystemExit("stream: wrong size")
        cache.close()
        # ru_maxrss can carry the forking parent's peak across exec; VmHWM is
        # this image's own.
        print("%.9f %.9f %d %.0f" % (t1 - t0, t2 - t1,
                                     resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                                     vm_hwm_kib()))


ALL = ["stream_256m", "put_1k", "put_64k", "put_1m", "get_1k", "get_64k", "get_1m",
       "get_missing", "list_10k", "clean_50k_of_100k", "put_many_1k", "mixed_p1", "mixed_p2"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="all")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--tmp", default=os.environ.get("TMPDIR") or "/tmp")
    p.add_argument("--child")
    p.add_argument("--dir")
    p.add_argument("--ops", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--mib", type=int)
    cfg = p.parse_args()
    if cfg.child:
        child_main(cfg)
        return
    workloads = ALL if cfg.workloads == "all" else cfg.workloads.split(",")
    n = lambda count: scaled(cfg, count)  # noqa: E731
    cases = {
        "stream_256m": lambda: run_stream(cfg),
        "put_1k": lambda: run_put(cfg, "put_1k", KIB, n(2000)),
        "put_64k": lambda: run_put(cfg, "put_64k", 64 * KIB, n(400)),
        "put_1m": lambda: run_put(cfg, "put_1m", MIB, n(40)),
        "get_1k": lambda: run_get(cfg, "get_1k", KIB, 2000, n(20_000), False),
        "get_64k": lambda: run_get(cfg, "get_64k", 64 * KIB, 400, n(4000), False),
        "get_1m": lambda: run_get(cfg, "get_1m", MIB, 40, n(400), False),
        "get_missing": lambda: run_get(cfg, "get_missing", KIB, 2000, n(20_000), True),
        "list_10k": lambda: run_list(cfg),
        "clean_50k_of_100k": lambda: run_clean(cfg),
        "put_many_1k": lambda: run_put(cfg, "put_many_1k", KIB, scaled(cfg, 10) * 1000, 1000),
        "mixed_p1": lambda: run_mixed_processes(cfg, 1),
        "mixed_p2": lambda: run_mixed_processes(cfg, 2),
    }
    for wl in workloads:
        if wl not in cases:
            continue  # a workload diskcache does not run (mixed_t*)
        t0 = time.perf_counter()
        cases[wl]()
        print("    (diskcache %s took %.3g s)" % (wl, time.perf_counter() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
