"""Compares a reproduction run with its reference output.

    python -m keras_latent.compare RUN_DIR [REFERENCE_DIR]

REFERENCE_DIR defaults to `figures/<reproduction>/<recipe>` (the script and recipe
recorded in the run's `metrics.json`). Prints one row per metric: reference, new
value, difference, the tolerance stored with the reference and whether the
difference lies within it; writes one side-by-side PNG (reference left, new right)
into `RUN_DIR/compare/` for every figure the two folders share. Exits 0 when every
reference metric is matched within tolerance, 1 when one is not (or is missing) or
when the two runs trained on different datasets, 2 when a folder lacks
`metrics.json`, 3 when the two ran different scripts or recipes (nothing is
compared: their metrics measure different things).

A reference `metrics.json` may carry `"tolerances"`: `{"default": {"rtol": r,
"atol": a}, "<metric>": {...}}`, where `<metric>` is a dotted path such as
`mixture.energy_distance` or its last part (`energy_distance`). A value is within
tolerance when `|new - reference| <= atol + rtol * |reference|`.
"""

import argparse
import glob
import json
import os
import sys

DEFAULT_TOLERANCE = {"rtol": 0.1, "atol": 0.0}


def flatten(metrics, prefix=""):
    """`{"a": {"b": 1.0}}` to `{"a.b": 1.0}`, keeping numbers only."""
    flat = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def tolerance_for(name, tolerances):
    for key in (name, name.rsplit(".", 1)[-1], "default"):
        if key in tolerances:
            return {**DEFAULT_TOLERANCE, **tolerances[key]}
    return dict(DEFAULT_TOLERANCE)


def compare_metrics(run, reference):
    """Rows `(metric, reference, new, difference, allowed, ok)` for two metrics.json records."""
    tolerances = reference.get("tolerances", {})
    ref_values = flatten(reference.get("metrics", {}))
    new_values = flatten(run.get("metrics", {}))
    rows = []
    for name, ref in ref_values.items():
        tol = tolerance_for(name, tolerances)
        allowed = tol["atol"] + tol["rtol"] * abs(ref)
        new = new_values.get(name)
        if new is None:
            rows.append((name, ref, None, None, allowed, False))
            continue
        difference = new - ref
        rows.append((name, ref, new, difference, allowed, abs(difference) <= allowed))
    for name in sorted(set(new_values) - set(ref_values)):
        rows.append((name, None, new_values[name], None, None, True))
    return rows


def format_table(rows):
    def fmt(value):
        return "-" if value is None else f"{value:.4g}"

    header = ("metric", "reference", "new", "difference", "tolerance", "")
    lines = [header] + [
        (
            name,
            fmt(ref),
            fmt(new),
            "missing" if new is None else ("new metric" if ref is None else f"{diff:+.4g}"),
            "-" if allowed is None else f"±{allowed:.4g}",
            "ok" if ok else "OUTSIDE",
        )
        for name, ref, new, diff, allowed, ok in rows
    ]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip()
        for line in lines
    )


def side_by_side(reference_png, run_png, path):
    """Writes one PNG with the reference figure left and the new one right."""
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    from keras_latent.plotting import save

    images = [imread(reference_png), imread(run_png)]
    height = max(image.shape[0] for image in images)
    width = sum(image.shape[1] for image in images)
    fig = Figure(figsize=(min(20.0, width / 100), min(10.0, height / 100) + 0.5))
    for ax, image, title in zip(
        fig.subplots(1, 2), images, (f"reference: {reference_png}", f"new: {run_png}")
    ):
        ax.imshow(image)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    return save(fig, path)


def _read(folder):
    path = os.path.join(folder, "metrics.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def default_reference(run_dir, run):
    """`figures/<reproduction>/<recipe>` of the run's own script and recipe, in the
    working directory's checkout or in the one this package was installed from."""
    name = run.get("reproduction") or os.path.basename(os.path.normpath(run_dir))
    folder = os.path.join("figures", name, run.get("recipe") or "article")
    for root in (os.getcwd(), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))):
        candidate = os.path.join(root, folder)
        if os.path.isdir(candidate):
            return candidate
    return folder


def settings_differences(run, reference):
    """`(key, run's value, reference's value)` for each setting the two records
    both hold and set differently (a --quick run's sizes, a run's length)."""
    ours, theirs = run.get("settings") or {}, reference.get("settings") or {}
    return [(k, ours[k], theirs[k]) for k in sorted(set(ours) & set(theirs))
            if ours[k] != theirs[k]]


def refusal(run, reference):
    """Why a run cannot be compared with a reference, or None: another script or
    another recipe."""
    for field, what in (("reproduction", "script"), ("recipe", "recipe")):
        ours, theirs = run.get(field), reference.get(field)
        if ours is not None and theirs is not None and ours != theirs:
            return (
                f"the run is the {ours!r} {what}, the reference the {theirs!r} {what}: "
                f"their metrics are not comparable. Compare with figures/"
                f"{run.get('reproduction')}/{run.get('recipe')}/, or rerun with "
                f"--recipe {theirs}."
            )
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_latent.compare",
        description="Compare a reproduction run with its reference output.",
    )
    parser.add_argument("run_dir", help="folder of the new run (with metrics.json)")
    parser.add_argument(
        "reference_dir", nargs="?", default=None,
        help="reference folder (default figures/<reproduction>/<recipe>)",
    )
    args = parser.parse_args(argv)

    run = _read(args.run_dir)
    if run is None:
        print(f"{args.run_dir} has no metrics.json", file=sys.stderr)
        return 2
    reference_dir = args.reference_dir or default_reference(args.run_dir, run)
    reference = _read(reference_dir)
    if reference is None:
        print(f"{reference_dir} has no metrics.json", file=sys.stderr)
        return 2

    print(f"run:       {args.run_dir}\nreference: {reference_dir}\n")
    refused = refusal(run, reference)
    if refused:
        print(f"not compared: {refused}", file=sys.stderr)
        return 3
    if run.get("quick") and not reference.get("quick"):
        print("note: the run is a --quick smoke run; the reference is a full run.\n")
    datasets = [record.get("settings", {}).get("dataset") for record in (run, reference)]
    mismatch = None not in datasets and datasets[0] != datasets[1]
    if mismatch:
        print(
            f"note: the run trained on {datasets[0]!r}, the reference on {datasets[1]!r}; "
            "their metrics are not comparable.\n"
        )
    differing = settings_differences(run, reference)
    if differing:
        print("note: settings that differ (run / reference): " + "; ".join(
            f"{key} {ours!r} / {theirs!r}" for key, ours, theirs in differing
        ) + "\n")
    rows = compare_metrics(run, reference)
    print(format_table(rows))

    shared = sorted(
        {os.path.basename(p) for p in glob.glob(os.path.join(reference_dir, "*.png"))}
        & {os.path.basename(p) for p in glob.glob(os.path.join(args.run_dir, "*.png"))}
    )
    if shared:
        out = os.path.join(args.run_dir, "compare")
        for name in shared:
            side_by_side(
                os.path.join(reference_dir, name), os.path.join(args.run_dir, name),
                os.path.join(out, name),
            )
        print(f"\n{len(shared)} side-by-side figures in {out}")

    outside = [row[0] for row in rows if not row[5]]
    if mismatch:
        print(f"\nnot comparable: datasets {datasets[0]!r} and {datasets[1]!r} differ")
        return 1
    if outside:
        print(f"\n{len(outside)} metric(s) outside tolerance: {', '.join(outside)}")
        return 1
    print("\nall metrics within tolerance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
