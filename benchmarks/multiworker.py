"""Steps per second of `fit` on one worker and on two, at the same global batch.

For each family (the models and batches of `benchmarks/run.py`), in fresh processes:
- `one process`: no strategy, `compile`'s defaults;
- `one process, no XLA`: what a strategy runs (`compile` leaves XLA off under one);
- `1 worker`: `MultiWorkerMirroredStrategy` over a one-worker cluster;
- `2 workers`: two worker processes on localhost ports, each taking half of every
  global batch and all-reducing the gradients.

Two workers on one machine share its cores: on a 2-core machine each worker gets
one, so the ratio says what the collective costs, not what a second machine gives.
Results go to `benchmarks/results/<tag>.json` and `.md`.

Usage:
    python benchmarks/multiworker.py [--families aae,info_gan] [--steps 50]
        [--repeats 3] [--tag cpu2-multiworker]
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import run  # noqa: E402  (after the path)
from tests.helpers import local_cluster  # noqa: E402

SETUPS = ("one process", "one process, no XLA", "1 worker", "2 workers")


def measure(family, setup, steps, repeats):
    """In this process (one worker of a cluster when `$TF_CONFIG` is set): a dict."""
    import tensorflow as tf

    options = {"jit_compile": False} if setup != "one process" else {}
    if os.environ.get("TF_CONFIG"):
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        with strategy.scope():
            model, (x, y), batch, _ = run.FAMILIES[family](options)
    else:
        model, (x, y), batch, _ = run.FAMILIES[family](options)
    rate, _ = run.time_fit(model, x, y, batch, steps, repeats)
    return {"family": family, "setup": setup, "batch_size": batch, "steps_per_second": rate}


def in_processes(family, setup, steps, repeats):
    """Runs `measure` in fresh processes, one per worker; returns the chief's dict."""
    workers = {"2 workers": 2, "1 worker": 1}.get(setup, 0)
    processes = []
    for config in local_cluster(workers) if workers else [None]:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if config:
            env["TF_CONFIG"] = config
        processes.append(subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--one", family, setup,
             "--steps", str(steps), "--repeats", str(repeats)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    try:
        outputs = [p.communicate(timeout=1800) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for process, (_, err) in zip(processes, outputs):
        if process.returncode != 0:
            raise RuntimeError(f"{family}, {setup} failed:\n{err[-3000:]}")
    return json.loads(outputs[0][0].strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default="aae,info_gan")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    parser.add_argument("--tag", default="cpu2-multiworker")
    parser.add_argument("--one", nargs=2, metavar=("FAMILY", "SETUP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(*args.one, args.steps, args.repeats)))
        return

    rows = []
    for family in args.families.split(","):
        for setup in SETUPS:
            rows.append(in_processes(family, setup, args.steps, args.repeats))
            print(json.dumps(rows[-1]), flush=True)
    lines = [
        "| family | setup | global batch | steps/s | vs one process, no XLA |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        base = next(
            b["steps_per_second"] for b in rows
            if b["family"] == r["family"] and b["setup"] == "one process, no XLA"
        )
        lines.append(
            f"| {r['family']} | {r['setup']} | {r['batch_size']} | "
            f"{r['steps_per_second']:.2f} | {r['steps_per_second'] / base:.2f}x |"
        )
    command = "python benchmarks/multiworker.py " + " ".join(argv or sys.argv[1:])
    report = {"command": command.strip(), "machine": run.machine(), "rows": rows}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"{args.tag}.json"), "w") as f:
        json.dump(report, f, indent=2)
    with open(os.path.join(args.out, f"{args.tag}.md"), "w") as f:
        f.write(f"# {args.tag}\n\n`{report['command']}` on {report['machine']['cpu']} "
                f"({report['machine']['cores']} cores)\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
