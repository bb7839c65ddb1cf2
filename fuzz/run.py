"""`make fuzz`: runs every fuzz target under libFuzzer for a bounded time and sums up.

For each target: the seeds are written (seed.py), the target runs for `--seconds` over its
corpus (which grows in fuzz/corpus/<target>/), and the executions and any crash are reported.
A crash's input is copied to fuzz/regressions/<target>/, where `make test` runs it from then
on (commit it with the fix). Exits 1 when any target crashed.

cargo-fuzz asks for nightly flags; on the stable toolchain RUSTC_BOOTSTRAP=1 allows them.
"""

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent
TARGETS = [
    "order_event",
    "ses_event",
    "issue_resolved",
    "link_token",
    "feedback_request",
    "render_mime",
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cargo-fuzz", required=True, help="the cargo-fuzz executable")
    parser.add_argument("--seconds", type=int, default=60, help="per target")
    parser.add_argument("targets", nargs="*", default=TARGETS)
    args = parser.parse_args()
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        print(f"unknown targets {unknown}; the targets are {TARGETS}", file=sys.stderr)
        return 2
    subprocess.run([sys.executable, str(ROOT / "seed.py")], check=True)
    environment = dict(os.environ, RUSTC_BOOTSTRAP="1")
    rows = []
    crashed = False
    for target in args.targets:
        artifacts = ROOT / "artifacts" / target
        before = set(artifacts.glob("*")) if artifacts.exists() else set()
        print(f"fuzzing {target} for {args.seconds} s...", flush=True)
        run = subprocess.run(
            [args.cargo_fuzz, "run", target, "--",
             f"-max_total_time={args.seconds}", "-print_final_stats=1", "-timeout=10"],
            cwd=ROOT, env=environment, capture_output=True, text=True,
        )
        output = run.stdout + run.stderr
        executions = re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)
        runs = re.findall(r"Done (\d+) runs in (\d+) second", output)
        count = int(executions[-1]) if executions else (int(runs[-1][0]) if runs else 0)
        found = sorted(set(artifacts.glob("*")) - before) if artifacts.exists() else []
        regressions = ROOT / "regressions" / target
        for artifact in found:
            regressions.mkdir(parents=True, exist_ok=True)
            shutil.copy(artifact, regressions / artifact.name)
        corpus = len(list((ROOT / "corpus" / target).glob("*")))
        if run.returncode != 0 or found:
            crashed = True
            tail = "\n".join(output.splitlines()[-40:])
            print(f"{target} failed (exit {run.returncode}):\n{tail}", flush=True)
        rows.append((target, count, corpus, [a.name for a in found] or ["nothing"]))
    print()
    print(f"{'target':<18} {'executions':>12} {'corpus':>8}  found")
    for target, count, corpus, found in rows:
        print(f"{target:<18} {count:>12,} {corpus:>8}  {', '.join(found)}")
    if crashed:
        print("\nCrash inputs are in fuzz/regressions/<target>/: fix them, then commit them with the fix.")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
