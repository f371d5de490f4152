"""Benchmark orchestration: every scorer on the same data, features, proposals and metrics.

A comparison is only fair if nothing but the method changes, so :func:`run_bench`
extracts features once into one shared cache, trains each scorer on the train split
through :func:`forensicloc.training.fit_scorer` (which hands it only what its declared
supervision allows), lets it select a model on the dev split, scores the test split,
turns every track into proposals with the same proposer, and evaluates them with the
official protocol. A scorer that fails is recorded as failed and the others go on.

The unseen-forgery protocol restricts the *fake* videos by forgery family (synthetic
datasets record the family of each segment): ``train_families`` keeps the train/dev
fakes whose segments all belong to those families, ``test_families`` does the same on
the test split; authentic videos are always kept.

Library code: no printing; progress goes through a callback, messages through ``log``.
:func:`write_bench` writes ``results.json``, ``report.md``, official predictions per
scorer and the plots (see :mod:`forensicloc.report`).
"""

from __future__ import annotations

import dataclasses
import platform
import resource
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from forensicloc.api import MODIFY_TYPES, ProgressCallback, ScoreTrack, VideoRecord, component_config, no_progress
from forensicloc.errors import BadInputError, ForensiclocError, MetadataError

__all__ = ["BenchConfig", "BenchResult", "ScorerOutcome", "run_bench", "select_by_family", "write_bench"]

#: snippets of a video's proposals that count for the per-family detection rate
FAMILY_TOP_N = 10
FAMILY_IOU = 0.5


@dataclass
class BenchConfig:
    """What to compare and how. ``scorers=None`` means every installed scorer."""

    dataset: Path
    scorers: Sequence[str] | None = None
    scorer_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    format: str | None = None
    extractor: str = "handcrafted"
    extractor_options: Mapping[str, Any] = field(default_factory=dict)
    proposer: str = "threshold"
    proposer_options: Mapping[str, Any] = field(default_factory=dict)
    protocol: str = "lavdf"
    train_families: Sequence[str] | None = None
    test_families: Sequence[str] | None = None
    device: str = "auto"
    seed: int = 0
    epochs: int | None = None
    workers: int = 1
    cache_dir: Path | None = None
    train_split: str = "train"
    #: ``None``: ``dev`` if the dataset has it, else ``val``, else no validation
    dev_split: str | None = None
    test_split: str = "test"
    #: test videos whose score tracks are plotted
    plot_videos: int = 3
    #: also save each trained scorer as a model directory under ``<out>/models``
    save_models: bool = True

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("dataset", "cache_dir"):
            out[key] = str(out[key]) if out[key] is not None else None
        for key in ("scorers", "train_families", "test_families"):
            out[key] = list(out[key]) if out[key] is not None else None
        return out


@dataclass
class ScorerOutcome:
    """One scorer's run: its ``results.json`` entry plus what only the files need."""

    name: str
    entry: dict[str, Any]
    scorer: Any = None
    predictions: dict[str, list[list[float]]] | None = None
    tracks: dict[str, ScoreTrack] = field(default_factory=dict)  # of the plotted videos

    @property
    def ok(self) -> bool:
        return self.entry.get("status") == "ok"


@dataclass
class BenchResult:
    """``results`` is the content of ``results.json``; the rest feeds the files."""

    results: dict[str, Any]
    outcomes: dict[str, ScorerOutcome]
    test_records: list[VideoRecord]
    plot_records: list[VideoRecord]
    extractor: Any = None


# --------------------------------------------------------------------------- selection


def select_by_family(
    records: Sequence[VideoRecord], families: Sequence[str] | None
) -> tuple[list[VideoRecord], int]:
    """Authentic records plus the fakes whose segment families all lie in ``families``.

    Returns ``(kept, dropped)``. ``families=None`` keeps everything.
    """
    if families is None:
        return list(records), 0
    allowed = set(families)
    kept = [r for r in records if r.label != 1 or (r.families and set(_family_parts(r.families)) <= allowed)]
    return kept, len(records) - len(kept)


def _family_parts(families: Sequence[str]) -> list[str]:
    """Component families: a segment forged in both tracks is written ``"a+b"``."""
    return [part for fam in families for part in fam.split("+") if part]


def _check_families(records: Sequence[VideoRecord], wanted: Sequence[str] | None, option: str) -> None:
    if wanted is None:
        return
    known = sorted({f for r in records for f in _family_parts(r.families or ())})
    if not known:
        raise MetadataError(
            f"{option} needs forgery families in the metadata, and this dataset has none",
            hint="only datasets written by `forensicloc synth` record a family per segment; drop " + option,
        )
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise BadInputError(
            f"{option}: unknown famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}",
            hint=f"families in this dataset: {', '.join(known)}",
        )


def _pick_dev_split(splits: Sequence[str], wanted: str | None) -> str | None:
    if wanted is not None:
        return wanted
    return next((s for s in ("dev", "val") if s in splits), None)


def _counts(records: Sequence[VideoRecord]) -> dict[str, int]:
    return {
        "videos": len(records),
        "real": sum(1 for r in records if r.label == 0),
        "fake": sum(1 for r in records if r.label == 1),
    }


def _family_counts(records: Sequence[VideoRecord]) -> dict[str, int]:
    """Forged segments per family (a two-track segment counts for both)."""
    counts = Counter(_family_parts([f for r in records for f in r.families or ()]))
    return dict(sorted(counts.items()))


def _plot_choice(records: Sequence[VideoRecord], k: int) -> list[VideoRecord]:
    """A few test fakes, one per modify type first, then one authentic video."""
    if k <= 0:
        return []
    fakes = sorted((r for r in records if r.label == 1), key=lambda r: r.file)
    chosen: list[VideoRecord] = []
    for kind in MODIFY_TYPES[1:]:
        match = next((r for r in fakes if r.modify_type == kind and r not in chosen), None)
        if match is not None and len(chosen) < max(1, k - 1):
            chosen.append(match)
    for r in fakes:
        if len(chosen) >= max(1, k - 1):
            break
        if r not in chosen:
            chosen.append(r)
    real = next((r for r in sorted(records, key=lambda r: r.file) if r.label == 0), None)
    if real is not None and len(chosen) < k:
        chosen.append(real)
    return chosen[:k]


# --------------------------------------------------------------------------- measures


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def family_detection(
    predictions: Mapping[str, Sequence[Sequence[float]]], records: Sequence[VideoRecord]
) -> dict[str, float]:
    """Share of each family's forged segments hit by one of the video's
    :data:`FAMILY_TOP_N` best proposals at IoU > :data:`FAMILY_IOU`."""
    from forensicloc.evaluation import iou_matrix

    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for r in records:
        if not r.families or not r.fake_segments:
            continue
        props = np.asarray(predictions.get(r.file, []), dtype=np.float64).reshape(-1, 3)
        props = props[np.argsort(-props[:, 0], kind="stable")][:FAMILY_TOP_N]
        best = (
            np.nan_to_num(iou_matrix(r.fake_segments, props[:, 1:]), nan=0.0).max(axis=1)
            if len(props)
            else np.zeros(len(r.fake_segments))
        )
        for fams, iou in zip(r.families, best):
            for fam in _family_parts([fams]):  # a two-track segment counts for both families
                total[fam] += 1
                found[fam] += int(iou > FAMILY_IOU)
    return {fam: found[fam] / total[fam] for fam in sorted(total)}


def _versions() -> dict[str, Any]:
    from forensicloc import __version__
    from forensicloc.plugins import get_plugins

    plugins = {}
    for info in get_plugins().infos.values():
        if info.distribution and info.distribution != "forensicloc" and not info.error:
            plugins[info.distribution] = info.version
    out: dict[str, Any] = {"forensicloc": __version__, "plugins": plugins, "python": platform.python_version()}
    for module in ("numpy", "torch"):
        mod = sys.modules.get(module)
        if mod is not None:
            out[module] = getattr(mod, "__version__", None)
    return out


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ForensiclocError):
        return exc.render()
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


# --------------------------------------------------------------------------- the run


def run_bench(
    config: BenchConfig,
    *,
    progress: ProgressCallback = no_progress,
    log: Callable[[str], None] = lambda message: None,
    train_log: Callable[[str], None] = lambda message: None,
    on_scorer: Callable[[ScorerOutcome], None] | None = None,
) -> BenchResult:
    """Train, score and evaluate every scorer of ``config`` on the dataset.

    ``progress`` follows each long stage (its description names the stage); ``log``
    receives one-line messages (a scorer failed, videos left out); ``train_log`` the
    scorers' own training messages, prefixed with the scorer's name; ``on_scorer``
    is called as each scorer finishes, so a caller can show results as they come.
    Errors in the set-up (dataset, extractor, options) raise; errors of one scorer
    are recorded in its entry and the run goes on.
    """
    from forensicloc.datasets import open_dataset
    from forensicloc.device import resolve_device
    from forensicloc.features import FeatureCache, FeatureStore, extract_all
    from forensicloc.plugins import create, get_plugins, registry

    started = time.perf_counter()
    dataset = open_dataset(config.dataset, format=config.format)
    splits = dataset.splits
    dev_name = _pick_dev_split(splits, config.dev_split)
    for name, option in ((config.train_split, "train"), (config.test_split, "test")):
        if name not in splits:
            raise BadInputError(
                f"{config.dataset}: no {option} split named {name!r} (splits: {', '.join(splits) or 'none'})",
                hint="benchmarking needs a train and a test split; `forensicloc synth` writes train/dev/test",
                path=config.dataset,
            )
    _check_families(dataset.records, config.train_families, "--train-families")
    _check_families(dataset.records, config.test_families, "--test-families")
    train, dropped_train = select_by_family(dataset.split(config.train_split), config.train_families)
    dev, dropped_dev = select_by_family(dataset.split(dev_name) if dev_name else [], config.train_families)
    test, dropped_test = select_by_family(dataset.split(config.test_split), config.test_families)
    if not test:
        raise BadInputError(f"{config.dataset}: the {config.test_split} split is empty", path=config.dataset)

    names = list(config.scorers) if config.scorers else registry("scorer").names()
    for name in names:  # unknown names are a user error before any work starts
        registry("scorer").get(name)
    scorer_options = {n: dict(config.scorer_options.get(n, {})) for n in names}
    unknown_opts = sorted(set(config.scorer_options) - set(names))
    if unknown_opts:
        raise BadInputError(
            f"options given for scorer(s) not benchmarked: {', '.join(unknown_opts)}",
            hint="add them to --scorers or drop their options",
        )

    proposer = create("proposer", config.proposer, dict(config.proposer_options))
    device = resolve_device(config.device)
    cuda = device.startswith("cuda")

    # -- features, once for everybody ----------------------------------------------
    extractor = create("extractor", config.extractor, dict(config.extractor_options))
    cache = FeatureCache(config.cache_dir)
    everything = [*train, *dev, *test]
    t0 = time.perf_counter()
    report = extract_all(everything, extractor, cache, workers=config.workers, progress=progress)
    extraction_seconds = time.perf_counter() - t0
    failed_files = {file for file, _ in report.failed}
    if failed_files:
        log(f"{len(failed_files)} video(s) could not be extracted and are left out")
        train = [r for r in train if r.file not in failed_files]
        dev = [r for r in dev if r.file not in failed_files]
        test = [r for r in test if r.file not in failed_files]
    store = FeatureStore(extractor, cache)

    plot_records = _plot_choice(test, config.plot_videos)
    results: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.as_dict(),
        "environment": {
            "device": device,
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu_count": _cpu_count(),
        },
        "dataset": {
            "root": str(dataset.root),
            "format": dataset.format,
            "splits": {s: _counts(dataset.split(s)) for s in splits},
            "used": {
                config.train_split: _counts(train),
                **({dev_name: _counts(dev)} if dev_name else {}),
                config.test_split: _counts(test),
            },
            "dropped_by_family": {"train": dropped_train, "dev": dropped_dev, "test": dropped_test},
            "test_modify_types": dict(sorted(Counter(r.modify_type or "unknown" for r in test).items())),
            "families": _family_counts(dataset.records),
        },
        "extraction": {
            "extractor": config.extractor,
            "options": component_config(extractor),
            "version": getattr(extractor, "version", None),
            "extracted": report.extracted,
            "cached": report.cached,
            "failed": [{"file": file, "error": why} for file, why in report.failed],
            "seconds": extraction_seconds,
        },
        "proposer": {"name": config.proposer, "options": component_config(proposer)},
        "seeds": {"seed": config.seed},
        "scorers": {},
    }

    outcomes: dict[str, ScorerOutcome] = {}
    for name in names:
        outcome = _run_one(
            name, scorer_options[name], config, train, dev, test, plot_records, store, proposer, device, cuda,
            progress, train_log,
        )
        cls = registry("scorer").get(name)
        outcome.entry = {
            "status": outcome.entry.pop("status"),
            "supervision": cls.supervision,
            "plugin": registry("scorer").owner(name),
            **_distribution(registry("scorer").owner(name), get_plugins()),
            **outcome.entry,
        }
        outcomes[name] = outcome
        results["scorers"][name] = outcome.entry
        if not outcome.ok:
            log(f"{name} failed in {outcome.entry.get('stage')}: {outcome.entry.get('error')}")
        if on_scorer is not None:
            on_scorer(outcome)

    results["versions"] = _versions()
    results["peak_rss_mb"] = _peak_rss_mb()
    results["seconds"] = time.perf_counter() - started
    return BenchResult(results, outcomes, test, plot_records, extractor)


def _run_one(
    name: str,
    options: dict[str, Any],
    config: BenchConfig,
    train: list[VideoRecord],
    dev: list[VideoRecord],
    test: list[VideoRecord],
    plot_records: list[VideoRecord],
    store: Any,
    proposer: Any,
    device: str,
    cuda: bool,
    progress: ProgressCallback,
    log: Callable[[str], None],
) -> ScorerOutcome:
    """Fit, score, propose and evaluate one scorer; any failure is caught and recorded."""
    from forensicloc.device import seed_everything
    from forensicloc.evaluation import evaluate
    from forensicloc.inference import predict, score_records
    from forensicloc.plugins import create
    from forensicloc.predictions import to_official
    from forensicloc.training import fit_scorer

    entry: dict[str, Any] = {"status": "failed", "options": options, "seed": config.seed}
    outcome = ScorerOutcome(name, entry)
    stage = "create"
    try:
        scorer = create("scorer", name, options)
        entry["options"] = component_config(scorer)
        outcome.scorer = scorer
        if cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        seed_everything(config.seed)

        stage = "fit"
        t0 = time.perf_counter()
        fitted = fit_scorer(
            scorer,
            train,
            dev,
            store,
            device=device,
            seed=config.seed,
            epochs=config.epochs,
            progress=_prefixed(progress, name),
            log=lambda message: log(f"{name}: {message}"),
            proposer=proposer,
        )
        entry["train_seconds"] = float(getattr(fitted, "seconds", None) or (time.perf_counter() - t0))
        entry["train_summary"] = getattr(fitted, "summary", {})
        entry["validation"] = getattr(fitted, "validation", {})

        stage = "score"
        t0 = time.perf_counter()
        tracks = score_records(scorer, test, store, progress=_prefixed(progress, name))
        seconds = time.perf_counter() - t0
        entry["score_seconds"] = seconds
        entry["videos_per_second"] = len(tracks) / seconds if seconds > 0 else None
        failed = list(getattr(tracks, "failed", []))
        if failed:
            entry["score_failed"] = [{"file": f, "error": why} for f, why in failed]
        outcome.tracks = {r.file: tracks[r.file] for r in plot_records if r.file in tracks}

        stage = "propose"
        segments = predict(tracks, proposer)
        predictions = {r.file: to_official(segments.get(r.file, [])) for r in test}
        outcome.predictions = predictions
        video_scores = {f: t.video_level for f, t in tracks.items()}

        stage = "evaluate"
        full = evaluate(predictions, test, config.protocol, "full", allow_missing=True, video_scores=video_scores)
        entry["metrics"] = {"full": full.metrics}
        entry["auc"] = full.auc
        entry["by_modify_type"] = full.by_modify_type
        warnings = list(full.warnings)
        try:
            visual = evaluate(
                predictions, test, config.protocol, "visual", allow_missing=True, video_scores=video_scores,
                breakdown=False,
            )
            entry["metrics"]["visual"] = visual.metrics
            entry["visual_auc"] = visual.auc
        except ForensiclocError as exc:  # metadata that cannot say which track was forged
            warnings.append(f"no visual subset: {exc.message}")
        entry["family_detection"] = family_detection(predictions, test)
        entry["warnings"] = [w for w in warnings if "placeholder" not in w]
        entry["status"] = "ok"
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # one scorer's failure must not stop the comparison
        entry["stage"] = stage
        entry["error"] = _describe(exc)
    finally:
        entry["peak_rss_mb"] = _peak_rss_mb()
        if cuda:
            import torch

            entry["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return outcome


def _prefixed(progress: ProgressCallback, prefix: str) -> ProgressCallback:
    def update(completed: float, total: float | None, description: str) -> None:
        progress(completed, total, f"{prefix}: {description}" if description and not description.startswith(prefix) else (description or prefix))

    return update


def _distribution(plugin: str, plugins: Any) -> dict[str, Any]:
    info = plugins.infos.get(plugin)
    return {
        "distribution": getattr(info, "distribution", None),
        "version": getattr(info, "version", None),
    }


def _cpu_count() -> int | None:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count()


# --------------------------------------------------------------------------- files


def write_bench(result: BenchResult, out: str | Path) -> dict[str, Path]:
    """Write ``results.json``, ``report.md``, ``predictions/<scorer>.json``, the plots
    and (if configured) ``models/<scorer>``; returns what was written, by role."""
    from forensicloc import report
    from forensicloc.predictions import write_predictions

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    ok = {n: o for n, o in result.outcomes.items() if o.ok}
    for name, outcome in ok.items():
        path = write_predictions(out / "predictions" / f"{name}.json", outcome.predictions or {})
        outcome.entry["predictions"] = str(path.relative_to(out))
        written[f"predictions:{name}"] = path

    if result.results["config"].get("save_models"):
        for name, outcome in ok.items():
            try:
                model_dir = _save_model(outcome, result, out / "models" / name)
                outcome.entry["model"] = str(model_dir.relative_to(out))
                written[f"model:{name}"] = model_dir
            except Exception as exc:  # a model that cannot be saved does not void its scores
                outcome.entry.setdefault("warnings", []).append(f"model not saved: {_describe(exc)}")

    figures: dict[str, str] = {}
    curves = {n: report.pr_curve(o.predictions or {}, result.test_records, iou=0.5) for n, o in ok.items()}
    if curves:
        ap = {n: o.entry.get("metrics", {}).get("full", {}).get("AP@0.5") for n, o in ok.items()}
        written["pr_curves"] = report.plot_pr_curves(out / "pr_curves.png", curves, ap, iou=0.5)
        figures["Precision / recall at IoU 0.5"] = "pr_curves.png"
    if result.plot_records and ok:
        tracks = {n: o.tracks for n, o in ok.items()}
        written["score_tracks"] = report.plot_score_tracks(out / "score_tracks.png", result.plot_records, tracks)
        figures["Score tracks of test videos against the ground truth"] = "score_tracks.png"

    written["results"] = report.write_json(out / "results.json", result.results)
    written["report"] = out / "report.md"
    written["report"].write_text(report.markdown_report(result.results, figures), encoding="utf-8")
    return written


def _save_model(outcome: ScorerOutcome, result: BenchResult, directory: Path) -> Path:
    from forensicloc.models import save_model

    save_model(
        outcome.scorer,
        directory,
        extractor=result.extractor,
        train_summary=outcome.entry.get("train_summary", {}),
        validation=outcome.entry.get("validation", {}),
    )
    return directory
