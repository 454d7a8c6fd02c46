"""``python -m core ...``: the same engine as the pages, from a terminal.

Every user error prints one line (``error: ...``) and exits 2; there is no traceback for bad input.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _preflight_analyze(out: Path) -> None:
    """Storage problems found before the work starts: the store (data folder, database) and --out."""
    from core.store import check_storage

    check_storage()
    _check_writable_folder(out)


def _check_writable_folder(folder: Path) -> None:
    import tempfile

    from core.db import storage_error

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder) as f:
            f.write(b"\0" * 4096)
            f.flush()
    except OSError as err:
        raise (storage_error(err, folder) or VigilError(f"Cannot write to {folder}: {err}")) from None


def _write_exports(rec, out: Path) -> list[Path]:
    """write_all, but a failure (full disk...) removes what this run wrote and says so in one line."""
    from core.db import storage_error
    from core.exports import write_all

    before = set(out.rglob("*")) if out.exists() else set()
    try:
        return write_all(rec, out)
    except OSError as err:
        for p in sorted(set(out.rglob("*")) - before, reverse=True):
            p.rmdir() if p.is_dir() else p.unlink(missing_ok=True)
        raise (storage_error(err, out) or VigilError(f"Cannot write to {out}: {err}")) from None


def cmd_analyze(args) -> int:
    from core.engine import analyze
    from core.sources import is_url, open_source

    events = validated(EventConfig, threshold=args.threshold, min_duration=args.min_duration, merge_gap=args.merge_gap)
    _preflight_analyze(Path(args.out))
    if is_url(args.source):  # a local file opens at once: a "download: 0%" bar would stay in a log or pipe
        bar = _Bar("download")
        try:
            src = open_source(args.source, progress=bar.fraction)
        finally:
            bar.close()
    else:
        src = open_source(args.source)
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
    written = _write_exports(rec, Path(args.out))
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
    from core import families
    from core.registry import list_models

    rows = list_models()
    width = max(len(n) for n in [*(r.spec.name for r in rows), *(families.all_families() if args.kinds else ())])
    for r in rows:
        state = "available" if r.available else r.reason
        print(f"{r.spec.name:<{width}}  {r.spec.kind:<14} v{r.spec.version:<15} {state}")
        if args.verbose and r.spec.description:
            print(f"{'':<{width}}  {r.spec.description}")
    if args.kinds:
        print("\nkinds (python -m core train --kind KIND):")
        for kind, fam in families.all_families().items():
            ways = [w for w, fn in (("normal footage", fam.fit_normal), ("labels", fam.fit_labels)) if fn]
            print(f"{kind:<{width}}  {fam.title}; trains from {' or '.join(ways) or 'nothing (built in)'}")
    return 0


def cmd_fetch(args) -> int:
    """Download catalogued weight files (models/manifest.json) into the first writable models folder."""
    from core.errors import UnknownModelError
    from core.registry import catalogue_files, catalogued_weight, find_file, resolve_weight

    known = catalogue_files()
    if not args.files:
        for f in known:
            where = find_file(f)
            print(f"{f:<36} {where if where else 'not here'}")
        return 0
    unknown = [f for f in args.files if f not in known]
    if unknown:
        raise UnknownModelError(f"'{unknown[0]}' is not in the weight catalogue; known: {', '.join(known)}.")
    for f in args.files:
        print(f"{f}: {resolve_weight(catalogued_weight(f))}")
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


class _BatchBar:
    """Videos done/failed, footage hours scored, throughput and time left, on stderr."""

    def __init__(self, quiet: bool):
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(
                total=0,
                desc="batch",
                file=sys.stderr,
                dynamic_ncols=True,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} videos [{elapsed}]{postfix}",
            )

    def update(self, p) -> None:
        if self.bar is None:
            return
        self.bar.total = p.total
        self.bar.n = p.finished
        left = f"{p.eta / 60:.1f} min left" if p.eta is not None else "time left: …"
        self.bar.set_postfix_str(
            f"done {p.done} · skipped {p.skipped} · failed {p.failed} · {p.footage / 3600:.2f} h footage · "
            f"{p.videos_per_s:.2f} videos/s · {p.footage_hours_per_hour:.1f} footage-h/h · {left}",
            refresh=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_batch(args) -> int:
    from core.batch import JobStore, collect_videos, run_batch, run_job

    bar = _BatchBar(args.quiet)
    try:
        if args.job:
            jobs = JobStore()
            if not jobs.get(args.job).active:  # resuming a finished, cancelled or interrupted job by hand
                jobs.reopen(args.job)
            summary = run_job(args.job, progress=bar.update)
        else:
            if not args.paths:
                raise VigilError("batch needs at least one PATH: a folder, a glob, a list file or a link.")
            sources = collect_videos(args.paths)
            summary = run_batch(
                sources,
                model=args.model,
                engine=args.engine,
                workers=args.workers,
                gpus_per_worker=args.gpus_per_worker,
                scoring=_scoring(args),
                inputs=list(args.paths),
                progress=bar.update,
            )
    finally:
        bar.close()
    for f in summary.failures:
        print(f"failed: {f['source']}: {f['reason']}")
    print(
        f"batch {summary.job_id}: {summary.done} scored, {summary.skipped} already stored, {summary.failed} failed "
        + (f"(and {summary.hopeless} that failed before in a way no retry helps) " if summary.hopeless else "")
        + f"of {summary.videos} videos in {summary.seconds:.1f} s ({summary.engine}, {summary.workers} workers); "
        f"{summary.footage_hours:.3f} h of footage, {summary.videos_per_s:.2f} videos/s, "
        f"{summary.footage_hours_per_hour:.1f} footage-hours per hour"
    )
    _write_json(args.json, summary.to_dict())
    if summary.cancelled:
        left = summary.videos - summary.done - summary.skipped - summary.failed - summary.hopeless
        print(
            f"interrupted: finished videos are stored, {left} left; run the same command again to finish them",
            file=sys.stderr,
        )
        return 130
    return 1 if summary.failed or summary.hopeless else 0  # a resume that left old failures still did not finish


def _write_json(path: str | None, result: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=2))


def _default_models(level: str) -> list[str]:
    """The kinds ``evaluate`` runs at this level ("frames" or "videos") when no --model is named."""
    from core import families

    return [k for k, f in families.all_families().items() if level in f.evaluate_by_default]


def cmd_evaluate(args) -> int:
    from core.evaluate import (
        evaluate_frames,
        evaluate_videos,
        format_report,
        format_video_report,
        load_frame_dataset,
        load_ucsd,
        load_video_dataset,
    )

    if args.videos:
        items = load_video_dataset(args.videos, args.video_labels, args.groups)
        bar = _Bar("evaluate")
        try:
            result = evaluate_videos(
                items,
                args.model or _default_models("videos"),
                folds=args.folds,
                seeds=args.seeds,
                scoring=validated(ScoringConfig, fps=args.fps or 10.0, max_side=args.max_side),  # type: ignore[arg-type]
                progress=bar.fraction,
                name=Path(args.videos).name,
            )
        finally:
            bar.close()
        print(format_video_report(result))
        _write_json(args.json, result)
        return 0
    if args.ucsd:
        ds = load_ucsd(args.ucsd)
    elif args.train_normal and args.test and args.frame_labels:
        ds = load_frame_dataset(args.train_normal, args.test, args.frame_labels)
    else:
        raise VigilError(
            "evaluate needs --ucsd DIR, or --train-normal DIR --test DIR --frame-labels CSV, "
            "or --videos DIR [--video-labels CSV]"
        )
    bar = _Bar("evaluate")
    try:
        fps = args.fps if args.fps else max(s.meta.fps for s in ds.test)
        result = evaluate_frames(
            ds,
            args.model or _default_models("frames"),
            validated(ScoringConfig, fps=fps, max_side=args.max_side),
            bar.fraction,
        )  # type: ignore[arg-type]
    finally:
        bar.close()
    print(format_report(result))
    _write_json(args.json, result)
    return 0


def cmd_train(args) -> int:
    if args.kind is None:
        from core.train import normal_kinds

        args.kind = normal_kinds()[0]
    from core.dataset import load_labelled, open_videos
    from core.train import fit_normal, register, train_from_labels

    if args.labels or args.videos:
        if args.labels:
            items = load_labelled(args.root, args.labels, args.groups)
        else:
            items = load_labelled(args.videos, None, args.groups)
        bar = _Bar("train")
        try:
            report = train_from_labels(
                args.kind,
                items,
                args.name,
                args.description,
                progress=bar.fraction,
                seed=args.seed,
                folds=args.folds,
                directory=Path(args.out_dir) if args.out_dir else None,
            )
        finally:
            bar.close()
        m = report.metrics
        cv = "n/a (too few videos)" if m.get("cv_auc") is None else f"{m['cv_auc']:.3f}"
        print(
            f"saved model '{report.name}' ({args.kind}) -> {report.card_path}\n"
            f"{m['n_videos']} videos ({m['n_abnormal']} abnormal, {m['n_normal']} normal); "
            f"cross-validated video ROC AUC {cv}"
            + (f" ({m['cv_folds']}-fold{', grouped' if m.get('cv_grouped') else ''})" if m.get("cv_folds") else "")
        )
        return 0
    if not args.normal:
        raise VigilError("train needs --normal DIR (normal footage), --labels CSV, or --videos DIR (class folders)")
    sources = open_videos(Path(args.normal))
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
    a.add_argument("source", help="a video file, a folder of numbered frames, or an http(s)/YouTube link")
    a.add_argument("--model", default=None, help="default: VIGIL_DEFAULT_MODEL (vigil)")
    scoring_flags(a)
    a.add_argument(
        "--threshold", type=float, default=0.5, help="a segment is where the smoothed score is above this (0..1)"
    )
    a.add_argument("--min-duration", type=float, default=1.0, help="drop segments shorter than this (s)")
    a.add_argument("--merge-gap", type=float, default=1.0, help="merge segments closer than this (s)")
    a.add_argument("--out", required=True, help="folder for scores.csv, segments.csv/json and thumbnails/")
    a.add_argument("--no-reuse", action="store_true", help="recompute even if a stored result exists")
    a.set_defaults(func=cmd_analyze)

    m = sub.add_parser("models", help="list models and whether each can run here")
    m.add_argument("-v", "--verbose", action="store_true")
    m.add_argument("--kinds", action="store_true", help="also list the model kinds and how each trains")
    m.set_defaults(func=cmd_models)

    f = sub.add_parser("fetch", help="download catalogued weight files (no name: list them and where they are)")
    f.add_argument("files", nargs="*", metavar="FILE", help="e.g. yolov8n_int8_640.tflite")
    f.set_defaults(func=cmd_fetch)

    b = sub.add_parser("bench", help="decode-only vs full-analysis throughput on one file")
    b.add_argument("source", help="a video file or a folder of numbered frames")
    b.add_argument("--model", default=None, help="default: VIGIL_DEFAULT_MODEL (vigil)")
    scoring_flags(b)
    b.add_argument("--rounds", type=int, default=2)
    b.add_argument("--json")
    b.set_defaults(func=cmd_bench)

    bt = sub.add_parser(
        "batch",
        help="score many videos (folders, globs, list files, links) on a local pool or a Ray cluster",
        description="Score every video named and store each result as Analyze does (History shows them). "
        "A re-run skips what is already stored. Exit 0: all scored; 1: some videos failed (listed); "
        "2: nothing could run (bad input, model or cluster); 130: interrupted (finished videos kept).",
    )
    bt.add_argument("paths", nargs="*", metavar="PATH", help="folder (recursive), glob, list file, video or link")
    bt.add_argument("--model", default=None, help="default: VIGIL_DEFAULT_MODEL (vigil)")
    bt.add_argument("--engine", choices=["local", "ray"], default="local", help="ray: RAY_ADDRESS or a local Ray")
    bt.add_argument("--workers", type=int, default=None, help="worker processes (default: the cores)")
    bt.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per Ray worker (fractions share one)")
    scoring_flags(bt)
    bt.add_argument("--json", help="write the summary here")
    bt.add_argument("--job", help="run (or resume) a job recorded by the Archive page")
    bt.add_argument("--quiet", action="store_true", help="no progress bar")
    bt.set_defaults(func=cmd_batch)

    e = sub.add_parser("evaluate", help="frame-level (UCSD-style) or video-level (labelled clips) ROC AUC")
    e.add_argument("--ucsd", help="UCSD Ped1/Ped2 folder (training/, testing/, ped2.mat)")
    e.add_argument("--train-normal", help="folder of normal videos or frame folders")
    e.add_argument("--test", help="folder of test videos or frame folders")
    e.add_argument("--frame-labels", help="CSV video,frame,label (frame 0-based)")
    e.add_argument("--videos", help="video level: folder of clips (class subfolders, or with --video-labels)")
    e.add_argument("--video-labels", help="CSV video,label[,group] with video relative to --videos")
    e.add_argument("--groups", help="source list (URL lines, then 'clip: ...' lines) giving CV groups")
    e.add_argument("--folds", type=int, default=5, help="cross-validation folds (video level)")
    e.add_argument("--seeds", type=int, default=1, help="repeat the CV with this many fold seeds")
    e.add_argument(
        "--model",
        nargs="+",
        default=None,
        help="registry names, or trainable kinds (fitted on the normal footage / cross-validated on the videos); "
        "default: the kinds each family marks for that level (see README, Adding a model)",
    )
    scoring_flags(e, fps_default=None)
    e.add_argument("--json", help="write the metrics here")
    e.set_defaults(func=cmd_evaluate)

    t = sub.add_parser("train", help="train a model from labelled videos or normal footage and register it")
    t.add_argument(
        "--model", "--kind", dest="kind", default=None, help="kind to train (default: the first normality kind)"
    )
    t.add_argument("--normal", help="folder of normal videos or frame folders (normality kinds)")
    t.add_argument("--labels", help="CSV video,label[,category][,group] (label 1/abnormal or 0/normal)")
    t.add_argument("--root", help="folder the CSV's video paths are relative to (default: the CSV's folder)")
    t.add_argument("--videos", help="folder with class subfolders (e.g. fight/ and noFight/)")
    t.add_argument("--groups", help="source list giving CV groups (see evaluate --groups)")
    t.add_argument("--name", required=True)
    t.add_argument("--description", default="")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--out-dir", help="where to write the model (default models/ or $VIGIL_TRAINED_DIR)")
    scoring_flags(t)
    t.set_defaults(func=cmd_train)
    return p


def main(argv: list[str] | None = None) -> int:
    # FFmpeg's own notes on a file it cannot read ("moov atom not found") would stand beside our one-line error
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VigilError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a disk that fills or turns read-only mid-run: one line too, never a traceback
        from core.db import storage_error

        storage = storage_error(err, Path(getattr(err, "filename", None) or "the data folder"))
        if storage is None:
            raise
        print(f"error: {storage}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing was saved", file=sys.stderr)
        return 130
