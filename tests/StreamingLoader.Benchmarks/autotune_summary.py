#!/usr/bin/env python3
"""Summarizes the runs of autotune_grid.sh (WORK/raw/*.json) as Markdown, and writes the changing-consumer timeline
of the autotuned run (WORK/consumer-timeline.dat) for autotune_plot.gp.

  autotune_summary.py WORK                   the summary
  autotune_summary.py WORK --best WORKLOAD   the best fixed configuration of WORKLOAD (by its median over the rounds)

Steady samples/s of a run: the mean of its timeline's points in its second half (each point is 250 ms). Time to
within 10 %: the end of the first 1 s window (4 points) of the autotuned run whose mean reaches 90 % of the best
fixed configuration's steady samples/s in the same round. Changing consumer: the same per phase (the second half of
each phase; the phase length comes from WORK/meta.json), the time from each change to the first such window, and an
ASCII plot of the autotuned run's workers and samples/s over time. Confirmation (WORK/raw/confirm/*.json): the pairs
that re-measured each workload's best fixed configuration against auto, alternating; the ratio of their medians.
"""
import glob
import json
import os
import statistics
import sys
from collections import defaultdict


def phases_of(work):
    try:
        with open(os.path.join(work, "meta.json")) as f:
            phase = float(json.load(f)["phase"])
    except (OSError, KeyError, ValueError):
        phase = 15.0
    return [(0, phase), (phase, 2 * phase), (2 * phase, 3 * phase)]


def ascii_plot(timeline, phases, best, width=90, height=14):
    """Workers (#) and samples/s as a share of the best fixed configuration of the phase (.), over time."""
    end = phases[-1][1]
    most = max(max(p[3] for p in timeline), 1)
    grid = [[" "] * width for _ in range(height)]
    for column in range(width):
        t0, t1 = end * column / width, end * (column + 1) / width
        points = [p for p in timeline if t0 <= p[0] < t1]
        if not points:
            continue
        target = next((b for (s, e), b in zip(phases, best) if s <= t0 < e), best[-1])
        share = min(1.0, statistics.mean(p[1] for p in points) / target) if target else 0
        row = height - 1 - min(height - 1, round(share * (height - 1)))
        grid[row][column] = "."
        workers = points[-1][3]
        row = height - 1 - min(height - 1, round(workers / most * (height - 1)))
        grid[row][column] = "#"
    for s, _ in phases[1:]:
        column = min(width - 1, int(s / end * width))
        for row in grid:
            row[column] = "|" if row[column] == " " else row[column]
    lines = [f"{most:>3} workers / 100 % of best |" + "".join(grid[0])]
    lines += ["".rjust(28) + "|" + "".join(row) for row in grid[1:-1]]
    lines.append(f"{0:>3} workers / 0 %          |" + "".join(grid[-1]))
    lines.append("".rjust(28) + "+" + "-" * width)
    lines.append("".rjust(28) + f" 0 s{'':>{width // 2 - 4}}{end / 2:.0f} s{'':>{width // 2 - 8}}{end:.0f} s")
    return "\n".join(lines)



def load(work, folder="raw"):
    runs = defaultdict(lambda: defaultdict(dict))  # workload -> round (or pair) -> config -> run
    for path in sorted(glob.glob(os.path.join(work, folder, "*.json"))):
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


def best_fixed(runs, workload):
    """The fixed configuration with the largest median steady samples/s over the rounds, and that median."""
    per_config = defaultdict(list)
    for configs in runs[workload].values():
        for c, r in configs.items():
            if c != "auto":
                per_config[c].append(steady(r))
    med = {c: statistics.median(v) for c, v in per_config.items()}
    best = max(med, key=med.get)
    return best, med[best]


def confirmation(work):
    pairs = load(work, os.path.join("raw", "confirm"))
    if not pairs:
        return
    print("\nConfirmation: each workload's best fixed configuration re-measured against auto in alternating pairs "
          "(the grid's best is the largest of many noisy figures):\n")
    print("| workload | best fixed | its samples/s, each pair | autotuned samples/s, each pair | ratio of medians | load average |")
    print("|---|---|---|---|---|---|")
    for workload in ("tensor", "jsonl", "images", "latency"):
        if workload not in pairs:
            continue
        theirs, ours, loads, best = [], [], [], None
        for _, configs in sorted(pairs[workload].items()):
            for c, r in configs.items():
                loads.append(r["load_average"])
                if c == "auto":
                    ours.append(steady(r))
                else:
                    best = c
                    theirs.append(steady(r))
        if not theirs or not ours:
            continue
        ratio = statistics.median(ours) / statistics.median(theirs)
        print(f"| {workload} | {best} | {', '.join(f'{v:,.0f}' for v in theirs)} | {', '.join(f'{v:,.0f}' for v in ours)} | "
              f"**{ratio:.2f}** | {min(loads):.1f}-{max(loads):.1f} |")


def main():
    work = sys.argv[1]
    runs = load(work)
    if len(sys.argv) == 4 and sys.argv[2] == "--best":
        print(best_fixed(runs, sys.argv[3])[0])
        return
    phases = phases_of(work)
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
            best, theirs = best_fixed(runs, workload)
            medians[workload] = (best, theirs, statistics.median(per_config["auto"]))
    if medians:
        print("\nMedians over the rounds (each configuration's median steady samples/s, then the best of them):\n")
        print("| workload | best fixed | its median samples/s | autotuned median | ratio |")
        print("|---|---|---|---|---|")
        for workload, (best, theirs, ours) in medians.items():
            print(f"| {workload} | {best} | {theirs:,.0f} | {ours:,.0f} | **{ours / theirs:.2f}** |")
    confirmation(work)

    if "consumer" in runs:
        p = phases[0][1]
        print(f"\nChanging consumer (latency 2 ms per sample, batch 32; a 4 ms step per batch, 8 ms from {p:.0f} s, 2 ms from {2 * p:.0f} s):\n")
        print("| round | phase | best fixed | its samples/s | autotuned samples/s | ratio | workers at the phase's end | time to within 10 % after the change |")
        print("|---|---|---|---|---|---|---|---|")
        last = None
        for rnd, configs in sorted(runs["consumer"].items()):
            if "auto" not in configs:
                continue
            auto = configs["auto"]
            last = (auto, [])
            for start, end in phases:
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
            print("\nWorkers (#) and samples/s as a share of the phase's best fixed configuration (.) of the last autotuned run:\n")
            print("```")
            print(ascii_plot(auto["timeline"], [(s, e) for s, e, _ in phases], [b for _, _, b in phases]))
            print("```")
            print("\nDecisions of the last autotuned changing-consumer run (t, workers, prefetch, reason, explanation):\n")
            for d in auto["decisions"]:
                print(f"- {d[0]:.2f} s: {d[1]} workers, prefetch {d[2]} ({d[3]}): {d[4]}")


if __name__ == "__main__":
    main()
