"""The official predictions file: read it, check it, write it.

The LAV-DF and AV-Deepfake1M evaluators read one JSON object mapping each video's
``file`` (as written in the metadata) to its proposals, ``[score, start, end]`` with
times in seconds, sorted by score, descending::

    {"test/000001.mp4": [[0.93, 1.24, 2.08], [0.41, 0.0, 0.52]], ...}

forensicloc writes exactly that, so its predictions can be scored unchanged by the
``avdeepfake1m`` evaluator — ``ap_ar_1d(preds, metadata, "file", value_key, 1.0, ...)``
with ``value_key`` ``"fake_segments"`` (AV-Deepfake1M) or ``"fake_periods"`` (LAV-DF) —
and it reads files from other tools in that format. LAV-DF's own ``metrics.py`` divides
proposal times by 25 (its pipeline stores frames): with it, times in seconds need
``fps=1`` in place of its literal ``25.``. Two rules come from the official evaluators'
limits:

* they crash on an empty list (and on a missing key), so :func:`write_predictions`
  writes a placeholder for a video without proposals: a zero-length segment at 0 s
  scored below every other proposal in the file — it overlaps nothing and ranks last,
  so it changes no metric;
* they do not sort a video's list before matching ground truth in list order, so the
  file is written sorted; a file that is not sorted is accepted and evaluated the way
  the official code would (:func:`forensicloc.evaluation.evaluate` warns).

Checks are vectorised: a LAV-DF-size file (26k videos x 100 proposals) validates in
well under a second once parsed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forensicloc.api import Segment
from forensicloc.errors import BadInputError

__all__ = [
    "PredictionsError",
    "load_predictions",
    "load_prediction_arrays",
    "write_predictions",
    "to_official",
    "as_arrays",
    "load_video_scores",
]


class PredictionsError(BadInputError):
    """A predictions file (or mapping) that is not in the official format."""


def to_official(segments: Sequence[Segment]) -> list[list[float]]:
    """``[[score, start, end], ...]`` sorted by score, descending (stable for ties)."""
    ordered = sorted(segments, key=lambda s: -float(s.score))
    return [s.as_official() for s in ordered]


def as_arrays(
    predictions: Mapping[str, Any],
    *,
    source: str | Path = "predictions",
) -> dict[str, np.ndarray]:
    """Each video's proposals as a float64 ``[n, 3]`` array, after checking them.

    Accepts lists of ``[score, start, end]``, ``[n, 3]`` arrays, or lists of
    :class:`~forensicloc.api.Segment`. Raises :class:`PredictionsError` naming
    ``source`` and the video for a value that is not a list of 3-number rows, a
    NaN/inf, or ``start > end``.
    """
    if not isinstance(predictions, Mapping):
        raise PredictionsError(
            f"{source}: expected a JSON object mapping each video file to its proposals, "
            f"found {_kind(predictions)}",
            hint='write {"<file>": [[score, start, end], ...], ...}',
            path=source,
        )
    arrays: dict[str, np.ndarray] = {}
    for key, value in predictions.items():
        if not isinstance(key, str):
            raise PredictionsError(f"{source}: key {key!r} is not a string (a video file)", path=source)
        arrays[key] = _video_array(key, value, source)
    _check_values(arrays, source)
    return arrays


def load_predictions(path: str | Path) -> dict[str, list[list[float]]]:
    """Read and check an official predictions file (see :func:`as_arrays` for the checks)."""
    return {key: arr.tolist() for key, arr in load_prediction_arrays(path).items()}


def _read_text(path: Path, what: str) -> str:
    """The file's text, or one clear error naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PredictionsError(f"{what} {path} does not exist", path=path, hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionsError(f"cannot read {what} {path}: {exc}", path=path) from None


def load_prediction_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """:func:`load_predictions` as ``[n, 3]`` float64 arrays (what evaluation consumes)."""
    path = Path(path)
    text = _read_text(path, "predictions file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PredictionsError(
            f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            path=path,
            hint="fix the file (a JSON validator shows the spot) or write it again",
        ) from None
    return as_arrays(data, source=path)


def write_predictions(path: str | Path, predictions: Mapping[str, Any]) -> Path:
    """Write ``{file: proposals}`` in the official format, every list sorted by score.

    ``predictions`` values may be lists of :class:`~forensicloc.api.Segment`, lists of
    ``[score, start, end]`` or ``[n, 3]`` arrays. A video with no proposal gets the
    placeholder described in the module docstring, so every key has a non-empty list.
    The file is written atomically (a temporary file renamed into place).
    """
    path = Path(path)
    arrays = as_arrays(predictions, source=path)
    scores = [a[:, 0] for a in arrays.values() if a.shape[0]]
    low = float(min(s.min() for s in scores)) if scores else 0.0
    placeholder = [[min(low - 1.0, 0.0), 0.0, 0.0]]
    out: dict[str, list[list[float]]] = {}
    for key, arr in arrays.items():
        if arr.shape[0] == 0:
            out[key] = placeholder
            continue
        order = np.argsort(-arr[:, 0], kind="stable")
        out[key] = arr[order].tolist()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(out, f, separators=(",", ":"), allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_video_scores(path: str | Path) -> dict[str, float]:
    """Video-level scores (higher = more likely fake) for detection AUC.

    A JSON object ``{file: score}``, or the AV-Deepfake1M evaluator's text format: one
    ``file;score`` line per video, no header (any suffix other than ``.json``).
    """
    path = Path(path)
    text = _read_text(path, "video scores file")
    hint = 'write {"<file>": score, ...} (JSON) or one "file;score" line per video'
    scores: dict[str, Any] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PredictionsError(
                f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", path=path, hint=hint
            ) from None
        if not isinstance(data, dict):
            raise PredictionsError(f"{path}: expected a JSON object {{file: score}}, found {_kind(data)}", path=path, hint=hint)
        scores = data
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            file, sep, value = line.rpartition(";")
            if not sep:
                raise PredictionsError(f"{path}: line {number} is not 'file;score': {line[:60]!r}", path=path, hint=hint)
            try:
                scores[file.strip()] = float(value)
            except ValueError:
                raise PredictionsError(f"{path}: line {number}: score {value.strip()!r} is not a number", path=path, hint=hint) from None
    out: dict[str, float] = {}
    for key, value in scores.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise PredictionsError(
                f"{path}: video {key!r}: score must be a finite number, got {value!r}", path=path, hint=hint
            )
        out[key] = float(value)
    return out


# --------------------------------------------------------------------------- checks


def _video_array(key: str, value: Any, source: str | Path) -> np.ndarray:
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (list, tuple)):
        if value and isinstance(value[0], Segment):
            if not all(isinstance(s, Segment) for s in value):
                raise _bad(source, key, "mixes Segment objects with other values")
            arr = np.array([s.as_official() for s in value], dtype=np.float64)
        else:
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise _bad(source, key, "must be a list of [score, start, end] rows of numbers") from None
    else:
        raise _bad(source, key, f"must be a list of [score, start, end] rows, found {_kind(value)}")
    if arr.size == 0:
        return np.zeros((0, 3), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        shape = "x".join(str(n) for n in arr.shape)
        raise _bad(source, key, f"must be a list of [score, start, end] rows (3 numbers each), found shape {shape}")
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise _bad(source, key, "must hold numbers only")
    return arr.astype(np.float64, copy=False)


def _check_values(arrays: dict[str, np.ndarray], source: str | Path) -> None:
    """NaN/inf anywhere, or start > end: one concatenated check, then find the video."""
    if not arrays:
        return
    keys = list(arrays)
    counts = np.array([arrays[k].shape[0] for k in keys])
    if counts.sum() == 0:
        return
    flat = np.concatenate([arrays[k] for k in keys if arrays[k].shape[0]])
    owner = np.repeat(np.arange(len(keys)), counts)
    finite = np.isfinite(flat).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        row = int(i - counts[: owner[i]].sum())
        raise _bad(
            source,
            keys[owner[i]],
            f"proposal {row} is {flat[i].tolist()}: scores and times must be finite numbers (no NaN/inf)",
            hint="replace NaN/inf scores before writing (e.g. drop the proposal, or clip the score)",
        )
    backwards = flat[:, 1] > flat[:, 2]
    if backwards.any():
        i = int(np.flatnonzero(backwards)[0])
        row = int(i - counts[: owner[i]].sum())
        n = int(backwards.sum())
        more = f" ({n - 1} more such rows in the file)" if n > 1 else ""
        raise _bad(
            source,
            keys[owner[i]],
            f"proposal {row} is {flat[i].tolist()}: its start is after its end{more}",
            hint="rows are [score, start, end] with start <= end, in seconds",
        )


def _bad(source: str | Path, key: str, message: str, hint: str | None = None) -> PredictionsError:
    return PredictionsError(
        f"{source}: video {key!r}: {message}",
        hint=hint or 'each value is a list of [score, start_seconds, end_seconds] rows, e.g. [[0.9, 1.2, 2.0]]',
        path=source,
    )


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )
