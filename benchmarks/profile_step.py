"""The ops one family's `fit` spends its time in: TensorFlow's profiler over a few
steps, ops ranked by their own (self) time.

The family is built as `run.py` builds it, traced and warmed up by one `fit`, then
profiled over `--steps` steps (`tf.profiler.experimental`), with the input as
`data.make_dataset` builds it or, with `--autotuned-input`, with tf.data's
autotuner turned back on. Prints, and writes to
`benchmarks/results/<tag>[-autotuned]-profile.md`, the wall time a step and the top ops by self
time, by op type and by op, host-side (this is a CPU), with their share of the
profiled ops' total.

Usage:
    python benchmarks/profile_step.py [--family info_gan] [--steps 10]
        [--autotuned-input] [--top 15] [--tag cpu2-info-gan]

With `--autotuned-input` the dataset is `data.make_dataset`'s with the autotuner
turned back on (`run.fit_input`).
"""

import argparse
import collections
import glob
import json
import os
import shlex
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout without installing


def op_stats(xplane):
    """Rows `{type, operation, occurrences, self_us}` of a profile's framework ops."""
    try:  # TensorFlow's own converter (private); xprof's tools read the same files
        from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin
    except ImportError as error:
        raise RuntimeError(
            "this TensorFlow has no profiler converter; open the trace in xprof "
            "(pip install xprof) instead") from error
    text, ok = plugin.xspace_to_tools_data([xplane], "framework_op_stats", {})
    if not ok:
        raise RuntimeError(f"the profiler's op statistics failed: {text[:200]!r}")
    table = json.loads(text)[0]
    names = [c["id"] for c in table["cols"]]
    rows = []
    for row in table["rows"]:
        values = dict(zip(names, (cell["v"] for cell in row["c"])))
        if values["host_or_device"] != "Host" or values["type"] == "IDLE":
            continue
        rows.append({"type": values["type"], "operation": values["operation"],
                     "occurrences": int(values["occurrences"]),
                     "self_us": float(values["total_self_time"])})
    return rows


def ranked(rows, key, top):
    """`(name, self time in ms, share, occurrences)` of the `top` groups by `key`."""
    time_of, count_of = collections.Counter(), collections.Counter()
    for row in rows:
        time_of[row[key]] += row["self_us"]
        count_of[row[key]] += row["occurrences"]
    total = sum(time_of.values())
    return [(name, us / 1e3, us / total, count_of[name])
            for name, us in time_of.most_common(top)]


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", default="info_gan")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--autotuned-input", action="store_true")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--tag", default=None)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args(argv)

    import tensorflow as tf

    from benchmarks import run

    model, (x, y), batch, _ = run.FAMILIES[args.family]({})
    dataset = run.fit_input(x, y, batch, args.autotuned_input)
    model.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)  # trace, warm up
    with tempfile.TemporaryDirectory() as logs:
        tf.profiler.experimental.start(logs)
        start = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)
        step_ms = (time.perf_counter() - start) / args.steps * 1e3
        tf.profiler.experimental.stop()
        traces = sorted(glob.glob(os.path.join(logs, "**", "*.xplane.pb"), recursive=True))
        rows = op_stats(traces[-1])
    total_ms = sum(r["self_us"] for r in rows) / 1e3 / args.steps

    input_kind = "autotuner on" if args.autotuned_input else "data.make_dataset"
    lines = [
        f"{args.family}, batch {batch}, {args.steps} profiled `fit` steps, input: "
        f"{input_kind}; TensorFlow {tf.__version__}, {os.cpu_count()} cores.",
        "",
        f"Wall time a step (profiler on): {step_ms:.0f} ms; the ops' self time a step, "
        f"summed over threads: {total_ms:.0f} ms.",
    ]
    for key, title in (("type", "op type"), ("operation", "op")):
        lines += ["", f"| {title} | ms a step | share | calls a step |",
                  "| --- | --- | --- | --- |"]
        for name, ms, share, calls in ranked(rows, key, args.top):
            lines.append(f"| `{name}` | {ms / args.steps:.1f} | {share:.0%} | "
                         f"{calls / args.steps:g} |")
    text = "\n".join(lines) + "\n"
    print(text)
    tag = (args.tag or f"cpu{os.cpu_count()}-{args.family.replace('_', '-')}") + (
        "-autotuned" if args.autotuned_input else "")
    command = shlex.join(["python", "benchmarks/profile_step.py",
                          *(sys.argv[1:] if argv is None else argv)])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"{tag}-profile.md"), "w") as f:
        f.write(text + f"\nCommand: `{command}`\n")


if __name__ == "__main__":
    main()
