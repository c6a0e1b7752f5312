#!/usr/bin/python3
"""A/B runs of SqliteStore's knobs with blobcache_bench_tuning.

Runs blobcache_bench_tuning --systems blobcache once per knob setting and
round, alternating the settings (A B A B ...) so a drift in the machine's
speed touches each alike, and prints the median over rounds of each
workload's median, per setting, with the ratio to the first setting.

  knob_ab.py --harness build-bench/bench/blobcache_bench_tuning \\
      --workloads put_1k,get_1k --rounds 2 -- "" "page_size=4096"

An empty setting means the library's defaults. Every run gets the same
malloc environment as compare.py.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--harness", required=True)
    p.add_argument("--workloads", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--scale", type=float, default=0.5)
    p.add_argument("settings", nargs="+", help="knob=value,... per setting; '' = defaults")
    args = p.parse_args()

    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(4 << 20),
               MALLOC_TRIM_THRESHOLD_=str(256 << 20))
    runs = {s: {} for s in args.settings}  # setting -> (workload, extra) -> [values]
    for rnd in range(args.rounds):
        order = args.settings if rnd % 2 == 0 else list(reversed(args.settings))
        for setting in order:
            cmd = [args.harness, "--systems", "blobcache", "--workloads", args.workloads,
                   "--reps", str(args.reps), "--scale", str(args.scale)]
            if setting:
                cmd += ["--tune", setting]
            out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True).stdout
            for line in out.splitlines():
                r = json.loads(line)
                runs[setting].setdefault((r["workload"], r["unit"]), []).append(r["median"])
                if "peak_rss_mib" in r:
                    runs[setting].setdefault((r["workload"] + " peak RSS", "MiB"), []).append(
                        r["peak_rss_mib"])
    base = args.settings[0]
    names = [s or "defaults" for s in args.settings]
    print("| workload | unit | " + " | ".join(names) + " |")
    print("|---|---|" + "--:|" * len(names))
    for key in runs[base]:
        cells = []
        b = statistics.median(runs[base][key])
        for s in args.settings:
            v = statistics.median(runs[s].get(key, [float("nan")]))
            cells.append("{:,.0f}".format(v) if s == base else
                         "{:,.0f} ({:.2f}x)".format(v, v / b if b else float("nan")))
        print("| %s | %s | %s |" % (key[0], key[1], " | ".join(cells)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
