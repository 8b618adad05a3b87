#!/usr/bin/env python3
"""Summarizes the runs of autotune_grid.sh (WORK/raw/*.json) as Markdown, and writes the changing-consumer timeline
of the autotuned run (WORK/consumer-timeline.dat) for autotune_plot.gp.

  autotune_summary.py WORK

Steady samples/s of a run: the mean of its timeline's points in its second half (each point is 250 ms). Time to
within 10 %: the end of the first 1 s window (4 points) of the autotuned run whose mean reaches 90 % of the best
fixed configuration's steady samples/s in the same round. Changing consumer: the same per phase (the second half of
each phase), and the time from each change to the first such window.
"""
import glob
import json
import os
import statistics
import sys
from collections import defaultdict

PHASES = [(0, 15), (15, 30), (30, 45)]


def load(work):
    runs = defaultdict(lambda: defaultdict(dict))  # workload -> round -> config -> run
    for path in sorted(glob.glob(os.path.join(work, "raw", "*.json"))):
        name = os.path.basename(path)[:-5]
        workload, rnd, config = name.split("-")
        with open(path) as f:
            runs[workload][int(rnd[1:])][config.replace("x", ":")] = json.load(f)
    return runs


def rates(run, start=0.0, end=float("inf")):
    return [(p[0], p[1]) for p in run["timeline"] if start <= p[0] < end]


def steady(run, start=0.0, end=None):
    end = run["seconds"] if end is None else end
    mid = start + (end - start) / 2
    values = [r for t, r in rates(run, mid, end)]
    return statistics.mean(values) if values else 0.0


def reach(run, target, start=0.0, end=float("inf")):
    points = rates(run, start, end)
    for i in range(3, len(points)):
        if statistics.mean(r for _, r in points[i - 3:i + 1]) >= 0.9 * target:
            return points[i][0] - start
    return None


def fmt_s(value):
    return "not reached" if value is None else f"{value:.1f} s"


def main():
    work = sys.argv[1]
    runs = load(work)
    loads = [r["load_average"] for w in runs.values() for rr in w.values() for r in rr.values()]
    print(f"Load average during the runs: median {statistics.median(loads):.1f}, min {min(loads):.1f}, max {max(loads):.1f} "
          f"({os.cpu_count()} cores).\n")
    print("| workload | round | best fixed (workers:prefetch) | its samples/s | autotuned samples/s (final workers, prefetch) | ratio | to within 10 % | max batch memory / budget |")
    print("|---|---|---|---|---|---|---|---|")
    medians = {}
    for workload in ("tensor", "jsonl", "images", "latency"):
        if workload not in runs:
            continue
        per_config = defaultdict(list)
        for rnd, configs in sorted(runs[workload].items()):
            fixed = {c: steady(r) for c, r in configs.items() if c != "auto"}
            if not fixed or "auto" not in configs:
                continue
            best = max(fixed, key=fixed.get)
            auto = configs["auto"]
            ours = steady(auto)
            for c, v in fixed.items():
                per_config[c].append(v)
            per_config["auto"].append(ours)
            memory = f"{auto['max_memory_bytes'] / 2**20:.1f} / {auto['memory_budget'] / 2**20:.0f} MiB"
            print(f"| {workload} | {rnd} | {best} | {fixed[best]:,.0f} | {ours:,.0f} ({auto['final_workers']}, {auto['final_prefetch']}) | "
                  f"**{ours / fixed[best]:.2f}** | {fmt_s(reach(auto, fixed[best]))} | {memory} |")
        if per_config:
            med = {c: statistics.median(v) for c, v in per_config.items()}
            best = max((c for c in med if c != "auto"), key=med.get)
            medians[workload] = (best, med[best], med["auto"])
    if medians:
        print("\nMedians over the rounds (each configuration's median steady samples/s, then the best of them):\n")
        print("| workload | best fixed | its median samples/s | autotuned median | ratio |")
        print("|---|---|---|---|---|")
        for workload, (best, theirs, ours) in medians.items():
            print(f"| {workload} | {best} | {theirs:,.0f} | {ours:,.0f} | **{ours / theirs:.2f}** |")

    if "consumer" in runs:
        print("\nChanging consumer (latency 2 ms per sample, batch 32; a 4 ms step per batch, 8 ms from 15 s, 2 ms from 30 s):\n")
        print("| round | phase | best fixed | its samples/s | autotuned samples/s | ratio | workers at the phase's end | time to within 10 % after the change |")
        print("|---|---|---|---|---|---|---|---|")
        last = None
        for rnd, configs in sorted(runs["consumer"].items()):
            if "auto" not in configs:
                continue
            auto = configs["auto"]
            last = (auto, [])
            for start, end in PHASES:
                fixed = {c: steady(r, start, end) for c, r in configs.items() if c != "auto"}
                best = max(fixed, key=fixed.get)
                ours = steady(auto, start, end)
                workers = [p[3] for p in auto["timeline"] if start <= p[0] < end]
                last[1].append((start, end, fixed[best]))
                print(f"| {rnd} | {start}-{end} s | {best} | {fixed[best]:,.0f} | {ours:,.0f} | **{ours / fixed[best]:.2f}** | "
                      f"{workers[-1] if workers else '-'} | {fmt_s(reach(auto, fixed[best], start, end))} |")
        if last:
            auto, phases = last
            with open(os.path.join(work, "consumer-timeline.dat"), "w") as f:
                f.write("# t samples_per_s wait_share workers prefetch pool memory_bytes best_fixed_samples_per_s\n")
                for p in auto["timeline"]:
                    best = next((b for s, e, b in phases if s <= p[0] < e), phases[-1][2])
                    f.write(" ".join(str(v) for v in p) + f" {best:.1f}\n")
            print("\nDecisions of the last autotuned changing-consumer run (t, workers, prefetch, reason, explanation):\n")
            for d in auto["decisions"]:
                print(f"- {d[0]:.2f} s: {d[1]} workers, prefetch {d[2]} ({d[3]}): {d[4]}")


if __name__ == "__main__":
    main()
