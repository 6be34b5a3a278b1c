"""What the reliability checks cost: the same training run with and without them.

Three variants of one compiled AAE (the articles' 1000-1000 networks, batch 100)
train on the same `tf.data` pipeline, interleaved round by round in one process so
that the machine's noise falls on all of them alike:

- `checked`: the model's `fit` (every batch checked by `data.check_batches`, the
  losses watched by `callbacks.StopOnNonFinite`);
- `no finite check`: `fit(..., check_finite=False)` (batches still checked);
- `raw`: `keras.Model.fit` on the unchecked dataset (neither).

It also times the one-off check of NumPy arrays before `fit`
(`data.check_fit_data` on 60000 MNIST-sized images). Writes
`benchmarks/results/<tag>-input-checks.md` and `.json`.

Usage:
    python benchmarks/input_checks.py [--steps 200] [--rounds 5] [--tag cpu2]
"""

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout without installing


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--tag", default="cpu2")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from keras_latent import data
    from tests import families

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(args.steps * args.batch, 28, 28, 1)).astype("float32")
    dataset = data.make_dataset(x, batch_size=args.batch, seed=0)
    model = families.aae(latent_dim=2, units=(1000, 1000))
    model.compile()

    variants = {
        "checked": lambda: model.fit(dataset, epochs=1, verbose=0),
        "no finite check": lambda: model.fit(dataset, epochs=1, verbose=0, check_finite=False),
        "raw": lambda: keras.Model.fit(model, dataset, epochs=1, verbose=0, shuffle=False),
    }
    for run in variants.values():  # warm-up: tracing, the pipeline's first pass
        run()
    rates = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            rates[name].append(args.steps / (time.perf_counter() - start))

    full = rng.uniform(size=(60000, 28, 28, 1)).astype("float32")
    array_check = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        data.check_fit_data(full, shape=(28, 28, 1))
        array_check.append(time.perf_counter() - start)

    median = {name: statistics.median(values) for name, values in rates.items()}
    record = {
        "steps_per_epoch": args.steps, "batch": args.batch, "rounds": args.rounds,
        "steps_per_s": rates, "median_steps_per_s": median,
        "numpy_check_60000_s": statistics.median(array_check),
        "cpu_count": os.cpu_count(),
    }
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"{args.tag}-input-checks")
    with open(stem + ".json", "w") as f:
        json.dump(record, f, indent=2)
    # On a shared machine a round can lose a core to another process; the best
    # round of each variant is the least disturbed estimate, the median the typical.
    best = {name: max(values) for name, values in rates.items()}
    record["best_steps_per_s"] = best
    lines = [
        "| variant | steps/s best | median | relative to raw (best) | all rounds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in rates:
        rounds = ", ".join(f"{r:.1f}" for r in rates[name])
        lines.append(
            f"| {name} | {best[name]:.1f} | {median[name]:.1f} | "
            f"{best[name] / best['raw']:.3f} | {rounds} |"
        )
    lines += [
        "",
        f"AAE 1000-1000, batch {args.batch}, {args.steps} steps an epoch, "
        f"{args.rounds} interleaved rounds in one process, {os.cpu_count()} cores.",
        f"Checking 60000 NumPy images before `fit`: {record['numpy_check_60000_s']:.2f} s "
        "(once per call).",
    ]
    with open(stem + ".json", "w") as f:
        json.dump(record, f, indent=2)
    with open(stem + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
