"""The experiment grid of docs/grid.md through the PyTorch reference (tools/reference/unlearn.py).

    /usr/bin/python3 tools/reference/grid.py [--out docs/grid-results.jsonl] [--threads 2]
        [--cells k16,k16-more,k64,k128,k1,variants] [--max-epochs-bounded N]

Forget indices are the engine's (src/engine/jobs/experiment.ts chooseForgetIndices):
`new Rng(seed).sample(10000, k)`, with Rng = mulberry32 as src/engine/core/rng.ts (ported below).
The guard's probe is the engine experiment's too: 512 remaining training images taken from
`new Rng(seed + 104729).permutation(|D_r|)` after the first 5000 (the retain subset).
Retain accuracy here is on ALL of D_r (unlearn.py), not on the engine's 5000-image subset.

Presets (src/contracts/options.ts PRESETS):
  paper   = defaults (negative-ce, batch statistics, stop margin 0); guard 'report' (observes only)
  bounded = forget term margin, running statistics, stop margin 0.5, guard 'stop' (roll back)
Runs one unlearn.py process at a time and appends one JSON line per finished run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The engine's generator, ported once, in unlearn.py (importing it also loads torch).
sys.path.insert(0, HERE)
from unlearn import EngineRng as Rng  # noqa: E402


TRAIN = 10000
CHECK = [3566, 6963, 445, 6908, 8269, 6929, 9372, 7785, 4701, 4375, 697, 3674, 8497, 6021, 3209, 4190]
assert Rng(0).sample(TRAIN, 16) == CHECK, Rng(0).sample(TRAIN, 16)


def forget_indices(k: int, seed: int) -> List[int]:
    return Rng(seed).sample(TRAIN, k)


def probe_indices(forget: List[int], seed: int, retain_size: int = 5000, probe_size: int = 512) -> List[int]:
    fs = set(forget)
    retain_all = [i for i in range(TRAIN) if i not in fs]
    order = Rng(seed + 104729).permutation(len(retain_all))
    size = min(retain_size, len(retain_all))
    return [retain_all[i] for i in order[size : size + probe_size]]


PRESETS = {
    "paper": ["--guard-action", "report"],
    "bounded": ["--forget-term", "margin", "--forget-statistics", "running", "--stop-margin", "0.5", "--guard-action", "stop"],
}


def cells(groups: List[str]):
    out = []
    if "k16" in groups:
        for seed in (0, 1, 2):
            for method in ("naive", "adv+imp"):
                for preset in ("paper", "bounded"):
                    out.append(dict(k=16, seed=seed, method=method, preset=preset))
    if "k16-more" in groups:
        for seed in (0, 1, 2):
            for method in ("adv", "imp"):
                for preset in ("paper", "bounded"):
                    out.append(dict(k=16, seed=seed, method=method, preset=preset))
    for k in (64, 128):
        if f"k{k}" in groups:
            for seed in (0, 1, 2):
                for method in ("naive", "adv+imp", "adv", "imp"):
                    for preset in ("paper", "bounded"):
                        out.append(dict(k=k, seed=seed, method=method, preset=preset))
    if "k1" in groups:
        for seed in (0, 1, 2):
            for method in ("naive", "adv+imp", "adv", "imp"):
                for preset in ("paper", "bounded"):
                    out.append(dict(k=1, seed=seed, method=method, preset=preset))
    if "variants" in groups:
        # Guard in 'report' mode, so each forget term's own outcome is seen (the bounded preset's
        # guard 'stop' rolled every k=16 run back to step 0); "guard min agreement" says whether
        # the guard would have tripped (< 90 %).
        base = dict(k=16, seed=0, method="adv+imp", preset="variant")
        bounded_report = ["--forget-term", "margin", "--forget-statistics", "running", "--stop-margin", "0.5", "--guard-action", "report"]
        out += [
            dict(base, name="margin+running (bounded, guard report)", extra=bounded_report),
            dict(base, method="naive", name="margin+running (bounded, guard report)", extra=bounded_report),
            dict(base, name="margin+batch, margin 0.5", extra=["--forget-term", "margin", "--forget-statistics", "batch", "--stop-margin", "0.5", "--guard-action", "report"]),
            dict(base, name="remembered-ce+running, margin 0.5", extra=["--forget-term", "remembered-ce", "--forget-statistics", "running", "--stop-margin", "0.5", "--guard-action", "report"]),
            dict(base, name="margin+running, lr 1e-4", extra=bounded_report + ["--lr", "1e-4"]),
            dict(base, name="margin+running, eps 2.0", extra=bounded_report + ["--eps", "2.0"]),
        ]
    return out


def done_keys(path: str):
    keys = set()
    if os.path.exists(path):
        for line in open(path, encoding="utf8"):
            try:
                r = json.loads(line)
                keys.add((r["k"], r["seed"], r["method"], r["preset"], r.get("name", "")))
            except Exception:
                pass
    return keys


def summary(path: str) -> str:
    """A markdown table: mean +- std over seeds of test/retain drop (points), forget after, steps, seconds."""
    import statistics as st
    rows = [json.loads(l) for l in open(path, encoding="utf8") if l.strip()]
    groups = {}
    for r in rows:
        groups.setdefault((r["k"], r["method"], r["preset"], r.get("name", "")), []).append(r)

    def ms(v, fmt="{:.1f}"):
        if len(v) == 1:
            return fmt.format(v[0])
        return (fmt + " ± " + fmt).format(st.mean(v), st.stdev(v))

    lines = ["| k | method | preset | seeds | test drop (pts) | retain drop (pts) | forget after (%) | steps | stopped | guard min agreement | seconds | epoch cap |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key in sorted(groups, key=lambda t: (t[0], t[1], t[2], t[3])):
        g = sorted(groups[key], key=lambda r: r["seed"])
        td = [100 * (r["before"]["test"] - r["after"]["test"]) for r in g]
        rd = [100 * (r["before"]["retain"] - r["after"]["retain"]) for r in g]
        fa = [100 * r["after"]["forget"] for r in g]
        stp = [r["steps"] for r in g]
        sec = [r["seconds"] for r in g]
        stopped = ",".join(r["stopped"] for r in g)
        gm = ",".join(f"{100 * r['guard']['min_agreement']:.0f}" if r.get("guard") else "-" for r in g)
        preset = key[2] if not key[3] else key[3]
        lines.append(f"| {key[0]} | {key[1]} | {preset} | {','.join(str(r['seed']) for r in g)} | {ms(td)} | {ms(rd)} | {ms(fa, '{:.0f}')} | {ms(stp, '{:.0f}')} | {stopped} | {gm} | {ms(sec, '{:.0f}')} | {','.join(sorted(set(str(r['max_epochs']) for r in g)))} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/grid-results.jsonl"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cells", default="k16,k16-more,k64,k128,k1")
    ap.add_argument("--max-epochs", type=int, default=1000)
    ap.add_argument("--log", default="/tmp/grid-unlearn.log", help="unlearn.py progress (stderr)")
    ap.add_argument("--only-seed", type=int, default=None)
    ap.add_argument("--summary", action="store_true", help="print the markdown table of --out and exit")
    args = ap.parse_args()
    if args.summary:
        print(summary(args.out))
        return 0
    done = done_keys(args.out)
    for c in cells(args.cells.split(",")):
        if args.only_seed is not None and c["seed"] != args.only_seed:
            continue
        key = (c["k"], c["seed"], c["method"], c["preset"], c.get("name", ""))
        if key in done:
            continue
        fi = forget_indices(c["k"], c["seed"])
        pi = probe_indices(fi, c["seed"])
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(pi, f)
            probe_file = f.name
        extra = c.get("extra") or PRESETS[c["preset"]]
        cmd = [sys.executable, os.path.join(HERE, "unlearn.py"), "--forget-indices", ",".join(map(str, fi)), "--method", c["method"],
               "--seed", str(c["seed"]), "--threads", str(args.threads), "--max-epochs", str(args.max_epochs), "--guard-probe-indices", probe_file] + extra
        t0 = time.time()
        print(f"[grid] {key} ...", file=sys.stderr, flush=True)
        with open(args.log, "a", encoding="utf8") as errf:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=errf, text=True)
        os.unlink(probe_file)
        if p.returncode != 0:
            print(f"[grid] {key} failed (rc {p.returncode}); see {args.log}", file=sys.stderr)
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        row = {"k": c["k"], "seed": c["seed"], "method": c["method"], "preset": c["preset"], "name": c.get("name", ""), "args": extra,
               "max_epochs": args.max_epochs, "before": r["before"],
               "after": {"test": r["test_after"], "retain": r["retain_after"], "forget": r["forget_after"]},
               "steps": r["steps"], "stopped": r["stopped"], "remembered": r["remembered"], "seconds": r["seconds"]["total"],
               "wall_seconds": time.time() - t0, "guard": r.get("guard"), "forget_indices": fi}
        with open(args.out, "a", encoding="utf8") as f:
            f.write(json.dumps(row) + "\n")
        print(f"[grid] {key}: test {r['before']['test']:.3f}->{r['test_after']:.3f} retain {r['before']['retain']:.3f}->{r['retain_after']:.3f} "
              f"forget {r['forget_after']:.3f} steps {r['steps']} {r['stopped']} {r['seconds']['total']:.1f}s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
