"""What tf.data's autotuner costs `fit` on a CPU: InfoGAN fed with it on and off.

One compiled InfoGAN (`run.py`'s `info_gan`: article 002's networks, batch 64)
trains `--steps` steps a call under each variant, interleaved call by call in one
process so that the machine's noise falls on all of them alike:

- `fit, make_dataset`: the package's pipeline (`data.prefetched`: autotuner off);
- `fit, autotuner on`: the same with the autotuner turned back on
  (`run.fit_input`);
- `fit, arrays`: NumPy arrays, which Keras turns into its own dataset;
- `train_step loop, fresh iterator` / `one iterator`: `tf.function(train_step)`
  in a Python loop on `next(iterator)`, the autotuner on, with an iterator opened
  each call or one iterator for all calls (open, with its autotuner, while
  every variant runs).

Each call's steps per second and the share of the machine's CPU time spent idle
(`/proc/stat`, every core, not this process alone) go to
`benchmarks/results/<tag>-input-autotune.md` and `.json`.

Usage:
    python benchmarks/input_autotune.py [--steps 15] [--rounds 4] [--tag cpu2]
"""

import argparse
import json
import os
import shlex
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout without installing


def idle_share(before, after):
    """Share of CPU time idle between two reads of `/proc/stat`'s first line."""
    spent = [b - a for a, b in zip(before, after)]
    return spent[3] / sum(spent)


def cpu_times():
    with open("/proc/stat") as f:
        return [int(v) for v in f.readline().split()[1:]]


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tag", default="cpu2")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args(argv)

    import tensorflow as tf

    from benchmarks import run

    model, (x, y), batch, _ = run.info_gan({})
    steps = args.steps
    ours, tuned = run.fit_input(x, y, batch), run.fit_input(x, y, batch, autotuned=True)
    step = tf.function(model.train_step)
    kept = iter(tuned)

    def loop(iterator):
        for _ in range(steps):
            logs = step(next(iterator))
        float(next(iter(logs.values())))  # wait for the last step

    variants = {
        "fit, make_dataset": lambda: model.fit(
            ours, epochs=1, steps_per_epoch=steps, verbose=0),
        "fit, autotuner on": lambda: model.fit(
            tuned, epochs=1, steps_per_epoch=steps, verbose=0),
        "fit, arrays": lambda: model.fit(
            x[: steps * batch], y[: steps * batch], batch_size=batch, verbose=0),
        "train_step loop, fresh iterator": lambda: loop(iter(tuned)),
        "train_step loop, one iterator": lambda: loop(kept),
    }
    for run_once in variants.values():  # trace, warm up
        run_once()
    calls = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run_once in variants.items():
            before, start = cpu_times(), time.perf_counter()
            run_once()
            rate = steps / (time.perf_counter() - start)
            calls[name].append({"steps_per_second": rate,
                                "idle": idle_share(before, cpu_times())})
            print(f"{name}: {rate:.2f} steps/s", flush=True)

    lines = [
        f"InfoGAN, batch {batch}, {steps} steps a call, {args.rounds} rounds interleaved "
        f"in one process; TensorFlow {tf.__version__}, {os.cpu_count()} cores.",
        "",
        "| input | steps/s, call by call | median | CPU idle, call by call |",
        "| --- | --- | --- | --- |",
    ]
    for name, rows in calls.items():
        rates = [r["steps_per_second"] for r in rows]
        idle = ", ".join(format(r["idle"], ".0%") for r in rows)
        lines.append(
            f"| {name} | {', '.join(f'{r:.2f}' for r in rates)} | "
            f"{statistics.median(rates):.2f} | {idle} |"
        )
    text = "\n".join(lines) + "\n"
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"{args.tag}-input-autotune.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, f"{args.tag}-input-autotune.json"), "w") as f:
        command = shlex.join(["python", "benchmarks/input_autotune.py",
                              *(sys.argv[1:] if argv is None else argv)])
        json.dump({"calls": calls, "command": command}, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
