"""``python -m core ...``: the same engine as the pages, from a terminal.

Every user error prints one line (``error: ...``) and exits 2; there is no traceback for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.config import EventConfig, ScoringConfig, validated
from core.errors import VigilError


class _Bar:
    """A tqdm progress bar on stderr, driven by fractions."""

    def __init__(self, desc: str):
        from tqdm import tqdm

        self.bar = tqdm(
            total=1000,
            desc=desc,
            unit="‰",
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix[0]}",
            postfix=[""],
        )

    def fraction(self, fraction: float, message: str = "") -> None:
        self.bar.n = int(fraction * 1000)
        self.bar.postfix[0] = message
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _scoring(args) -> ScoringConfig:
    return validated(ScoringConfig, fps=args.fps, max_side=args.max_side)  # type: ignore[return-value]


def cmd_analyze(args) -> int:
    from core.engine import analyze
    from core.exports import write_all
    from core.sources import open_source

    events = validated(EventConfig, threshold=args.threshold, min_duration=args.min_duration, merge_gap=args.merge_gap)
    bar = _Bar("download")
    try:
        src = open_source(args.source, progress=bar.fraction)
    finally:
        bar.close()
    bar = _Bar("analyse")
    try:
        rec = analyze(
            src,
            model=args.model,
            scoring=_scoring(args),
            events=events,  # type: ignore[arg-type]
            progress=lambda p: bar.fraction(p.fraction, p.message),
            reuse=not args.no_reuse,
            source_uri=args.source,
        )
    finally:
        bar.close()
    written = write_all(rec, Path(args.out))
    peak, peak_t = rec.peak
    print(
        f"{rec.source_name}: {rec.track.duration:.1f} s, {len(rec.segments)} anomalous segment(s), "
        f"{rec.frac_anomalous:.0%} of the time, peak {peak:.2f} at {peak_t:.1f} s (model {rec.model}, id {rec.id})"
    )
    for w in rec.warnings:
        print(f"warning: {w}")
    print(f"wrote {len(written)} files to {args.out}")
    return 0


def cmd_models(args) -> int:
    from core.registry import list_models

    rows = list_models()
    width = max(len(r.spec.name) for r in rows)
    for r in rows:
        state = "available" if r.available else r.reason
        print(f"{r.spec.name:<{width}}  {r.spec.kind:<14} v{r.spec.version:<15} {state}")
        if args.verbose and r.spec.description:
            print(f"{'':<{width}}  {r.spec.description}")
    return 0


def cmd_bench(args) -> int:
    from core.bench import bench, format_bench
    from core.sources import open_source

    result = bench(open_source(args.source), args.model, _scoring(args), rounds=args.rounds)
    print(format_bench(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def cmd_evaluate(args) -> int:
    from core.evaluate import evaluate_frames, format_report, load_frame_dataset, load_ucsd

    if args.ucsd:
        ds = load_ucsd(args.ucsd)
    elif args.train_normal and args.test and args.frame_labels:
        ds = load_frame_dataset(args.train_normal, args.test, args.frame_labels)
    else:
        raise VigilError("evaluate needs --ucsd DIR, or --train-normal DIR --test DIR --frame-labels CSV")
    bar = _Bar("evaluate")
    try:
        fps = args.fps if args.fps else max(s.meta.fps for s in ds.test)
        result = evaluate_frames(
            ds, args.model, validated(ScoringConfig, fps=fps, max_side=args.max_side), bar.fraction
        )  # type: ignore[arg-type]
    finally:
        bar.close()
    print(format_report(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def cmd_train(args) -> int:
    from core.evaluate import _videos_in
    from core.train import fit_normal, register

    sources = _videos_in(Path(args.normal))
    bar = _Bar("train")
    try:
        result = fit_normal(args.kind, sources, _scoring(args), bar.fraction)
    finally:
        bar.close()
    card = register(
        result,
        args.name,
        args.description or f"{args.kind} fitted on {args.normal}",
        sources,
        Path(args.out_dir) if args.out_dir else None,
    )
    print(f"saved model '{args.name}' ({args.kind}) -> {card}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core", description="Vigil: anomaly scores for surveillance video.")
    sub = p.add_subparsers(dest="command", required=True)

    def scoring_flags(sp, fps_default: float | None = 10.0):
        sp.add_argument("--fps", type=float, default=fps_default, help="analysis frames per second")
        sp.add_argument("--max-side", type=int, default=640, help="resize frames to at most this many px")

    a = sub.add_parser("analyze", help="score one video (file, frame folder or link) and export the results")
    a.add_argument("source")
    a.add_argument("--model", default="motion")
    scoring_flags(a)
    a.add_argument("--threshold", type=float, default=0.5)
    a.add_argument("--min-duration", type=float, default=1.0)
    a.add_argument("--merge-gap", type=float, default=1.0)
    a.add_argument("--out", required=True, help="folder for scores.csv, segments.csv/json and thumbnails/")
    a.add_argument("--no-reuse", action="store_true", help="recompute even if a stored result exists")
    a.set_defaults(func=cmd_analyze)

    m = sub.add_parser("models", help="list models and whether each can run here")
    m.add_argument("-v", "--verbose", action="store_true")
    m.set_defaults(func=cmd_models)

    b = sub.add_parser("bench", help="decode-only vs full-analysis throughput on one file")
    b.add_argument("source")
    b.add_argument("--model", default="motion")
    scoring_flags(b)
    b.add_argument("--rounds", type=int, default=2)
    b.add_argument("--json")
    b.set_defaults(func=cmd_bench)

    e = sub.add_parser("evaluate", help="frame-level ROC AUC on UCSD-style data")
    e.add_argument("--ucsd", help="UCSD Ped1/Ped2 folder (training/, testing/, ped2.mat)")
    e.add_argument("--train-normal", help="folder of normal videos or frame folders")
    e.add_argument("--test", help="folder of test videos or frame folders")
    e.add_argument("--frame-labels", help="CSV video,frame,label (frame 0-based)")
    e.add_argument(
        "--model",
        nargs="+",
        default=["motion", "motion-fitted"],
        help="registry names, or trainable kinds (fitted on the normal footage)",
    )
    scoring_flags(e, fps_default=None)
    e.add_argument("--json")
    e.set_defaults(func=cmd_evaluate)

    t = sub.add_parser("train", help="fit a normality model on a folder of normal videos and register it")
    t.add_argument("--kind", default="motion-fitted")
    t.add_argument("--normal", required=True, help="folder of normal videos or frame folders")
    t.add_argument("--name", required=True)
    t.add_argument("--description", default="")
    t.add_argument("--out-dir", help="where to write the model (default models/ or $VIGIL_TRAINED_DIR)")
    scoring_flags(t)
    t.set_defaults(func=cmd_train)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VigilError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing was saved", file=sys.stderr)
        return 130
