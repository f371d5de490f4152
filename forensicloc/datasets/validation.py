"""Checks shared by the metadata readers: JSON loading, entry fields, paths.

Metadata comes from outside (downloaded, hand-edited, generated), so every reader
validates what it reads and reports a problem as a :class:`MetadataError` naming the
metadata file, the entry (index and ``file``) and the field. Paths named by an entry
are resolved *inside* the dataset root: an absolute path, a ``..`` that climbs out, or
a symlink that points elsewhere is refused, so metadata can never make the toolkit
read (or later write next to) files outside the dataset.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from forensicloc.errors import MetadataError

#: a segment as the readers return it: ``(start, end)`` in seconds
Span = tuple[float, float]

#: what ``missing=`` may say about listed videos that are not on disk
MISSING_POLICIES = ("error", "skip", "ignore")


def load_json(path: Path) -> Any:
    """Parse a metadata JSON file; a syntax error names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MetadataError(f"metadata file {path} does not exist", path=path) from None
    except UnicodeDecodeError as exc:
        raise MetadataError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            path=path,
            hint="metadata must be a UTF-8 JSON file",
        ) from None
    except OSError as exc:
        raise MetadataError(f"cannot read {path}: {exc.strerror}", path=path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetadataError(
            f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            path=path,
            hint="fix the file (a JSON validator shows the spot), or restore it from the dataset download",
        ) from None


def load_entries(path: Path) -> list[dict[str, Any]]:
    """A metadata file that must hold a JSON list of objects."""
    data = load_json(path)
    if not isinstance(data, list):
        raise MetadataError(
            f"{path}: expected a JSON list of entries, found {_type_name(data)}",
            path=path,
            hint="each metadata file is a list of objects, one per video",
        )
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise MetadataError(f"{path}: entry {index} is {_type_name(entry)}, expected an object", path=path)
    return data


class PathGuard:
    """Resolves the ``file`` of each entry inside one dataset root.

    An absolute path, a ``..`` that climbs out, or a symlink pointing elsewhere is a
    :class:`MetadataError`. Folders are resolved once per guard and remembered, so
    checking the hundred thousand entries of a real dataset costs about one ``lstat``
    per file (a guard lives for one load: nothing stale is kept across loads).
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.real_root = os.path.realpath(self.root)
        self._folders: dict[str, str] = {"": self.real_root}

    def resolve(self, file: str, *, where: str = "") -> Path:
        """``root / file``; ``where`` (e.g. ``"metadata.json: entry 3"``) prefixes errors."""
        prefix = f"{where}: " if where else ""
        if not isinstance(file, str) or not file.strip():
            raise MetadataError(f"{prefix}file must be a non-empty relative path, got {file!r}")
        if file.startswith(("/", "\\")) or _DRIVE.match(file):
            raise MetadataError(
                f"{prefix}file {file!r} is an absolute path",
                hint="paths in metadata are relative to the dataset root",
            )
        folder, _, name = file.replace("\\", "/").rpartition("/")
        real = self._folders.get(folder)
        if real is None:
            real = self._folders[folder] = os.path.realpath(os.path.join(self.real_root, folder))
        target = os.path.join(real, name)
        if name in ("..", ".") or os.path.islink(target):
            target = os.path.realpath(target)
        if not (target == self.real_root or target.startswith(self.real_root.rstrip(os.sep) + os.sep)):
            raise MetadataError(
                f"{prefix}file {file!r} resolves outside the dataset root {self.root}",
                hint="paths in metadata must stay inside the dataset root (no '..', no symlinks pointing out)",
            )
        return self.root / file


_DRIVE = re.compile(r"^[A-Za-z]:")


def resolve_inside(root: Path | str, file: str, *, where: str = "") -> Path:
    """``root / file``, refusing anything that would land outside ``root`` (an
    absolute path, a climbing ``..``, a symlink pointing out); see :class:`PathGuard`
    for reading many entries."""
    return PathGuard(root).resolve(file, where=where)


class Entry:
    """One metadata entry with typed accessors whose errors name file, entry and field."""

    def __init__(self, data: dict[str, Any], index: int, source: Path | str):
        self.data = data
        self.index = index
        self.source = str(source)
        file = data.get("file")
        self.file = file if isinstance(file, str) else None

    @property
    def where(self) -> str:
        name = f" ({self.file})" if self.file else ""
        return f"{self.source}: entry {self.index}{name}"

    def error(self, message: str, hint: str | None = None) -> MetadataError:
        return MetadataError(f"{self.where}: {message}", hint=hint, path=self.source)

    def has(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str, required: bool) -> Any:
        if name not in self.data:
            if required:
                raise self.error(f"missing required field {name!r}", hint="every entry needs this field; see the format's documentation")
            return None
        return self.data[name]

    def text(self, name: str, *, required: bool = True, nullable: bool = False) -> str | None:
        value = self._get(name, required)
        if value is None and (nullable or not required):
            return None
        if not isinstance(value, str):
            raise self.error(f"field {name!r} must be a string, got {_describe(value)}")
        return value

    def integer(self, name: str, *, required: bool = True, minimum: int | None = 0) -> int | None:
        value = self._get(name, required)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            # 12.0 from a float-writing tool is still an integer count
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self.error(f"field {name!r} must be an integer, got {_describe(value)}")
        if minimum is not None and value < minimum:
            raise self.error(f"field {name!r} must be >= {minimum}, got {value}")
        return value

    def number(self, name: str, *, required: bool = True, minimum: float | None = 0.0) -> float | None:
        value = self._get(name, required)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(f"field {name!r} must be a finite number, got {_describe(value)}")
        if minimum is not None and value < minimum:
            raise self.error(f"field {name!r} must be >= {minimum}, got {value}")
        return float(value)

    def flag(self, name: str, *, required: bool = True) -> bool | None:
        value = self._get(name, required)
        if value is None and not required:
            return None
        if not isinstance(value, bool):
            raise self.error(f"field {name!r} must be true or false, got {_describe(value)}")
        return value

    def choice(self, name: str, choices: Sequence[str], *, aliases: dict[str, str] | None = None) -> str:
        value = self.text(name)
        assert value is not None
        value = (aliases or {}).get(value, value)
        if value not in choices:
            raise self.error(f"field {name!r} is {value!r}; expected one of {', '.join(choices)}")
        return value

    def segments(self, name: str, *, required: bool = True) -> tuple[Span, ...] | None:
        """A list of ``[start, end]`` pairs in seconds, ``0 <= start <= end``."""
        value = self._get(name, required)
        if value is None and not required:
            return None
        if not isinstance(value, list):
            raise self.error(f"field {name!r} must be a list of [start, end] pairs, got {_describe(value)}")
        out = []
        for k, seg in enumerate(value):
            ok = (
                isinstance(seg, (list, tuple))
                and len(seg) == 2
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in seg)
            )
            if not ok:
                raise self.error(f"field {name!r}[{k}] must be a [start, end] pair of numbers, got {_describe(seg)}")
            start, end = float(seg[0]), float(seg[1])
            if start < 0 or end < start:
                raise self.error(f"field {name!r}[{k}] = [{start}, {end}] is not a valid segment (need 0 <= start <= end)")
            out.append((start, end))
        return tuple(out)

    def str_list(self, name: str, *, length: int | None = None, required: bool = False) -> tuple[str, ...] | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise self.error(f"field {name!r} must be a list of strings, got {_describe(value)}")
        if length is not None and len(value) != length:
            raise self.error(f"field {name!r} has {len(value)} items but the entry has {length} fake segments")
        return tuple(value)


class DuplicateChecker:
    """Remembers each ``file`` seen in one metadata file; a repeat is an error."""

    def __init__(self, source: Path | str):
        self.source = str(source)
        self.seen: dict[str, int] = {}

    def check(self, entry: Entry) -> None:
        assert entry.file is not None
        first = self.seen.setdefault(entry.file, entry.index)
        if first != entry.index:
            raise entry.error(
                f"duplicate entry: file {entry.file!r} is also entry {first}",
                hint="each video may be listed once per metadata file; remove the repeat",
            )


def check_missing(
    records_and_paths: Iterable[tuple[Any, Path, str]],
    policy: str,
    source: str,
) -> list[Any]:
    """Apply the ``missing`` policy to ``(record, path, where)`` triples.

    ``"error"`` raises naming the missing videos (the first few), ``"skip"`` drops
    them, ``"ignore"`` keeps them without looking at the disk (fast for huge sets).
    """
    if policy not in MISSING_POLICIES:
        raise MetadataError(f"missing={policy!r} is not one of {', '.join(MISSING_POLICIES)}")
    kept, missing = [], []
    for record, path, where in records_and_paths:
        if policy == "ignore" or path.is_file():
            kept.append(record)
        else:
            missing.append(where)
            if policy == "skip":
                continue
    if missing and policy == "error":
        shown = "; ".join(missing[:3]) + (f"; and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise MetadataError(
            f"{len(missing)} video file(s) listed in {source} are missing: {shown}",
            hint="check the dataset root and that the download is complete, or pass --opt missing=skip to leave them out",
        )
    return kept


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


def _describe(value: Any) -> str:
    text = json.dumps(value) if _jsonable(value) else repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{_type_name(value)} {text}"


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False
