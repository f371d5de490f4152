"""Streaming media decoding onto one snippet grid, and small video writers.

Every extractor sees a video as a sequence of *snippets* at a fixed rate (default
25 Hz): snippet ``i`` covers ``[i / rate, (i + 1) / rate)`` seconds from the start of
the video stream. :class:`MediaSource` decodes a file with PyAV and hands out
:class:`MediaChunk`\\ s of consecutive snippets, so that memory stays bounded by the
chunk size whatever the length of the video:

- video: the frame *displayed* at each snippet's start time (chosen by presentation
  timestamp, so variable frame rate works: frames are repeated or dropped as needed),
  as RGB ``uint8``, optionally cropped and resized during the colour conversion;
- audio: mono ``float32`` resampled to ``sample_rate`` and cut into exactly
  ``round(sample_rate / rate)`` samples per snippet (the tail padded with zeros).

Memory per chunk is ``snippets`` frames at the requested size (at full resolution
when ``size`` is None: ask for a small size when the frames are only analysed), plus
whatever the container interleaves ahead of it (usually under a second of media).

Writers (:func:`write_video`, :func:`write_test_video`) produce H.264 + AAC mp4 files
for synthetic data and tests.

Problems with a file (empty, not a media file, truncated, missing stream) raise
:class:`~forensicloc.errors.MediaError` naming the file. PyAV is imported here at
module level: this module is only imported when media is actually decoded.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import av.filter
import numpy as np
from av.video.reformatter import VideoReformatter

from forensicloc.api import DEFAULT_RATE
from forensicloc.errors import MediaError

#: timestamps this close (seconds) count as equal when matching frames to snippets
_TIME_EPS = 1e-4

__all__ = [
    "MediaChunk",
    "MediaInfo",
    "MediaSource",
    "probe",
    "write_test_video",
    "write_video",
]


# --------------------------------------------------------------------------- probing


@dataclass
class MediaInfo:
    """What a container says about a media file (nothing is decoded to get it).

    ``duration`` is the video stream's duration in seconds (the container's when the
    stream does not say, or when there is no video); ``n_frames`` is the number of
    video frames as declared, or estimated from duration and frame rate.
    """

    path: Path
    duration: float
    fps: float | None
    width: int | None
    height: int | None
    has_video: bool
    has_audio: bool
    sample_rate: int | None
    n_frames: int | None


def _describe_av_error(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())


def _open(path: Path) -> av.container.InputContainer:
    """Open ``path`` for reading, turning every failure into a :class:`MediaError`."""
    if not path.exists():
        raise MediaError(f"{path} does not exist", hint="check the path or the dataset metadata", path=path)
    if path.is_dir():
        raise MediaError(f"{path} is a folder, not a media file", path=path)
    if path.stat().st_size == 0:
        raise MediaError(
            f"{path} is empty (0 bytes)",
            hint="the file was not written completely; re-download or re-create it",
            path=path,
        )
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
        reason = _describe_av_error(exc)
        with open(path, "rb") as fh:
            head = fh.read(12)
        if head[4:8] == b"ftyp":  # an mp4/mov that ffmpeg cannot index: cut short or damaged
            what = "is truncated or damaged (it starts like an mp4, but its index cannot be read)"
        else:
            what = "is not a media file that can be decoded"
        raise MediaError(
            f"{path} {what}: {reason}",
            hint="re-download or re-encode the file (e.g. `ffmpeg -i in -c:v libx264 -c:a aac out.mp4`)",
            path=path,
        ) from None


def _stream_duration(stream: av.stream.Stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


def _info_from_container(path: Path, container: av.container.InputContainer) -> MediaInfo:
    videos = container.streams.video
    audios = container.streams.audio
    container_duration = float(container.duration) / av.time_base if container.duration else None
    vs = videos[0] if videos else None
    aud = audios[0] if audios else None
    fps = width = height = n_frames = sample_rate = None
    duration: float | None = None
    if vs is not None:
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        fps = float(rate) if rate else None
        width, height = vs.codec_context.width, vs.codec_context.height
        duration = _stream_duration(vs)
        if duration is None and vs.frames and fps:
            duration = vs.frames / fps
        if duration is None:
            duration = container_duration
        if vs.frames:
            n_frames = int(vs.frames)
        elif duration is not None and fps:
            n_frames = int(round(duration * fps))
    if aud is not None:
        sample_rate = aud.codec_context.sample_rate or aud.rate
        if duration is None:
            duration = _stream_duration(aud) or container_duration
    return MediaInfo(
        path=path,
        duration=float(duration or 0.0),
        fps=fps,
        width=width,
        height=height,
        has_video=vs is not None,
        has_audio=aud is not None,
        sample_rate=int(sample_rate) if sample_rate else None,
        n_frames=n_frames,
    )


def probe(path: str | os.PathLike[str], *, require_video: bool = True) -> MediaInfo:
    """Read the container header of ``path``.

    Raises :class:`MediaError` naming the file when it is missing, empty, not a media
    file, truncated (mp4 without its index), or, with ``require_video``, has no video
    stream.
    """
    path = Path(path)
    container = _open(path)
    try:
        return _checked_info(path, container, require_video=require_video)
    finally:
        container.close()


def _checked_info(path: Path, container: av.container.InputContainer, *, require_video: bool = True) -> MediaInfo:
    info = _info_from_container(path, container)
    if not info.has_video and not info.has_audio:
        raise MediaError(f"{path} has neither a video nor an audio stream", path=path)
    if require_video and not info.has_video:
        raise MediaError(
            f"{path} has no video stream (it holds audio only)",
            hint="forensicloc needs audio-visual videos; remove this file from the dataset",
            path=path,
        )
    return info


# --------------------------------------------------------------------------- decoding


@dataclass
class MediaChunk:
    """Consecutive snippets ``start .. start + n - 1`` of one video.

    ``frames`` is ``[n, H, W, 3]`` uint8 RGB, ``audio`` is ``[n, samples_per_snippet]``
    float32 mono; either is ``None`` when it was not requested.
    """

    start: int
    frames: np.ndarray | None
    audio: np.ndarray | None

    def __len__(self) -> int:
        arr = self.frames if self.frames is not None else self.audio
        return 0 if arr is None else int(arr.shape[0])


_GRAPHS = threading.local()


class _FrameConverter:
    """Converts decoded frames to RGB arrays, cropping and resizing in C.

    Without a crop, one swscale call (PyAV's reformatter) converts and resizes the
    frame. With a crop, an FFmpeg filter graph (``crop,scale,format=rgb24``) cuts the
    box out before scaling: cropping moves pointers only, and swscale then works on
    the box alone (converting the whole frame and slicing costs about a third more).
    The graph is rebuilt if the frame size or pixel format changes mid-stream.
    """

    def __init__(self, size: tuple[int, int] | None, crop: tuple[float, float, float, float] | None):
        self.size = size
        self.crop = crop
        self.reformatter = VideoReformatter()  # one cached swscale context for all frames
        self._graph: av.filter.Graph | None = None
        self._graph_key: tuple[int, int, str] | None = None

    def _build_graph(self, frame: av.VideoFrame) -> av.filter.Graph:
        assert self.crop is not None
        w, h = frame.width, frame.height
        x0, y0, x1, y1 = self.crop
        cx, cy = int(round(x0 * w)), int(round(y0 * h))
        cw = max(1, min(w - cx, int(round((x1 - x0) * w))))
        ch = max(1, min(h - cy, int(round((y1 - y0) * h))))
        graph = av.filter.Graph()
        chain = [
            graph.add_buffer(width=w, height=h, format=frame.format.name, time_base=Fraction(1, 1000)),
            graph.add("crop", f"w={cw}:h={ch}:x={cx}:y={cy}:exact=1"),
        ]
        if self.size is not None:
            chain.append(graph.add("scale", f"w={self.size[0]}:h={self.size[1]}:flags=area"))
        chain += [graph.add("format", "pix_fmts=rgb24"), graph.add("buffersink")]
        for a, b in zip(chain, chain[1:]):
            a.link_to(b)
        graph.configure()
        return graph

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if self.crop is None:
            if self.size is None:
                return self.reformatter.reformat(frame, format="rgb24").to_ndarray()
            w, h = self.size
            return self.reformatter.reformat(frame, w, h, "rgb24", interpolation="AREA").to_ndarray()
        key = (frame.width, frame.height, frame.format.name)
        if self._graph is None or key != self._graph_key:
            self._graph, self._graph_key = self._cached_graph(frame), key
        self._graph.push(frame)
        return self._graph.pull().to_ndarray()

    def _cached_graph(self, frame: av.VideoFrame) -> av.filter.Graph:
        """Graphs are kept per thread and reused from video to video: building one
        costs up to a few milliseconds, as much as converting a hundred frames. Reuse
        is safe because every frame pushed is pulled at once (the graph holds none)."""
        cache: dict[tuple, av.filter.Graph] | None = getattr(_GRAPHS, "cache", None)
        if cache is None:
            cache = _GRAPHS.cache = {}
        key = (frame.width, frame.height, frame.format.name, self.size, self.crop)
        graph = cache.get(key)
        if graph is None:
            if len(cache) >= 8:
                cache.pop(next(iter(cache)))
            graph = cache[key] = self._build_graph(frame)
        return graph


class _VideoGrid:
    """Assigns decoded frames to snippets: snippet ``i`` gets the frame displayed at
    ``i / rate`` (the last frame whose timestamp is not after it; the first frame for
    snippets before it)."""

    def __init__(self, n: int, rate: float, origin: float, convert: _FrameConverter):
        self.n, self.rate, self.origin, self.convert = n, rate, origin, convert
        self.ready: list[np.ndarray] = []
        self.count = 0  # snippets assigned so far (the ready list holds the unconsumed ones)
        self.current: av.VideoFrame | None = None
        self._current_array: np.ndarray | None = None
        self.last_time: float | None = None
        self.n_decoded = 0

    def _array(self) -> np.ndarray:
        if self._current_array is None:
            assert self.current is not None
            self._current_array = self.convert(self.current)
        return self._current_array

    def push(self, frame: av.VideoFrame, fallback_time: float) -> None:
        t = frame.time
        t = fallback_time if t is None else float(t) - self.origin
        self.n_decoded += 1
        if self.last_time is not None and t <= self.last_time:
            return  # a duplicate or out-of-order timestamp: keep the frame already shown
        # snippets that start before this frame show the previous frame (or this one, if first)
        while self.count < self.n and self.count / self.rate < t - _TIME_EPS:
            if self.current is None:
                self.current = frame
            self.ready.append(self._array())
            self.count += 1
        self.current, self._current_array, self.last_time = frame, None, t

    def finish(self) -> None:
        if self.current is None:
            return
        while self.count < self.n:
            self.ready.append(self._array())
            self.count += 1

    def take(self, k: int) -> np.ndarray:
        out = np.stack(self.ready[:k])
        del self.ready[:k]
        return out


class _AudioGrid:
    """Cuts resampled mono audio into ``samples_per_snippet`` samples per snippet.

    The first sample is placed by its timestamp (silence before audio that starts late,
    samples dropped before the video start); later audio is taken as contiguous.
    Snippet ``i`` starts at sample ``round(i * sample_rate / rate)``.
    """

    def __init__(self, n: int, rate: float, sample_rate: int, origin: float):
        self.n, self.rate, self.sample_rate, self.origin = n, rate, sample_rate, origin
        self.sps = int(round(sample_rate / rate))
        self.contiguous = self.sps * rate == sample_rate
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        self.parts: list[np.ndarray] = []
        self.buffered = 0  # samples held in parts
        self.buf_start = 0  # absolute index of the first held sample
        self.drop = 0  # samples still to skip before holding more
        self.emitted = 0  # snippets taken so far
        self.started = False
        self.finished = False

    def _start(self, i: int) -> int:
        return int(round(i * self.sample_rate / self.rate))

    def push(self, frame: av.AudioFrame | None) -> None:
        for out in self.resampler.resample(frame):
            samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            if not self.started:
                self.started = True
                t = out.time
                offset = 0 if t is None else int(round((float(t) - self.origin) * self.sample_rate))
                if offset > 0:
                    self.parts.append(np.zeros(offset, np.float32))
                    self.buffered += offset
                else:
                    self.drop = -offset
            if self.drop:
                cut = min(self.drop, samples.size)
                samples, self.drop = samples[cut:], self.drop - cut
            if samples.size:
                self.parts.append(samples)
                self.buffered += samples.size

    def finish(self) -> None:
        if not self.finished:
            self.push(None)
            self.finished = True

    @property
    def count(self) -> int:
        """Snippets whose samples are all held (every snippet once finished)."""
        if self.finished:
            return self.n
        end = self.buf_start + self.buffered
        if self.contiguous:
            return min(self.n, end // self.sps)
        k = max(0, int(end * self.rate / self.sample_rate) - 1)
        while self._start(k) + self.sps <= end:
            k += 1
        return min(self.n, k)

    def take(self, k: int) -> np.ndarray:
        first = self.emitted
        buf = np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)
        need_end = self._start(first + k - 1) + self.sps
        if self.buf_start + buf.size < need_end:  # the tail of the video: pad with silence
            buf = np.concatenate([buf, np.zeros(need_end - self.buf_start - buf.size, np.float32)])
        s0 = self._start(first) - self.buf_start
        if self.contiguous:
            out = buf[s0 : s0 + k * self.sps].reshape(k, self.sps).copy()
        else:
            out = np.empty((k, self.sps), np.float32)
            for j in range(k):
                s = self._start(first + j) - self.buf_start
                out[j] = buf[s : s + self.sps]
        self.emitted += k
        keep = self._start(self.emitted) - self.buf_start
        if keep > buf.size:  # the next snippet starts past what is held: skip the gap
            self.drop += keep - buf.size
        rest = buf[keep:]
        self.parts = [rest] if rest.size else []
        self.buffered = int(rest.size)
        self.buf_start = self._start(self.emitted)
        return out


class MediaSource:
    """One media file, decoded on demand onto a snippet grid of ``rate`` Hz.

    ``size`` (width, height) resizes frames during colour conversion (cheap; extractors
    pick a small analysis size); ``crop`` = relative ``(x0, y0, x1, y1)`` box taken
    before resizing. Decoding streams: use :meth:`chunks`. Opening a source reads
    nothing; :attr:`info` probes the file on first use.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: float = DEFAULT_RATE,
        sample_rate: int = 16000,
        size: tuple[int, int] | None = None,
        crop: tuple[float, float, float, float] | None = None,
    ):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ValueError(f"size must be (width, height) >= 1, got {size}")
        if crop is not None:
            x0, y0, x1, y1 = (float(c) for c in crop)
            if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
                raise ValueError(f"crop must be relative (x0, y0, x1, y1) with 0 <= x0 < x1 <= 1, got {crop}")
            crop = (x0, y0, x1, y1)
        self.path = Path(path)
        self.rate = float(rate)
        self.sample_rate = int(sample_rate)
        self.size = (int(size[0]), int(size[1])) if size is not None else None
        self.crop = crop
        self._info: MediaInfo | None = None

    def __repr__(self) -> str:
        return f"MediaSource({str(self.path)!r}, rate={self.rate}, size={self.size}, crop={self.crop})"

    def with_options(
        self,
        *,
        size: tuple[int, int] | None = None,
        sample_rate: int | None = None,
        crop: tuple[float, float, float, float] | None = None,
    ) -> MediaSource:
        """The same file and grid with another analysis size / sample rate / crop
        (``None`` keeps this source's value); the probed info is shared."""
        other = MediaSource(
            self.path,
            rate=self.rate,
            sample_rate=sample_rate if sample_rate is not None else self.sample_rate,
            size=size if size is not None else self.size,
            crop=crop if crop is not None else self.crop,
        )
        other._info = self._info
        return other

    @property
    def info(self) -> MediaInfo:
        if self._info is None:
            self._info = probe(self.path)
        return self._info

    @property
    def samples_per_snippet(self) -> int:
        return int(round(self.sample_rate / self.rate))

    @property
    def n_snippets(self) -> int:
        """``ceil(duration * rate)``: the length of every feature stream of this video."""
        info = self.info
        duration = info.duration
        if duration <= 0 and info.n_frames and info.fps:
            duration = info.n_frames / info.fps
        n = int(math.ceil(duration * self.rate - 1e-6))
        return max(n, 1)

    def chunks(
        self, snippets: int = 250, video: bool = True, audio: bool = True, *, prefetch: int = 0
    ) -> Iterator[MediaChunk]:
        """Decode the file once, yielding chunks of ``snippets`` consecutive snippets
        (the last one shorter). Memory is bounded by the chunk size.

        With ``prefetch > 0`` decoding runs in a background thread, up to ``prefetch``
        chunks ahead, so that the consumer's work can overlap with decoding (PyAV and
        numpy release the GIL). It pays only on an idle multi-core machine with long
        videos: handing the GIL back and forth costs CPU, so under load (or with one
        worker process per core) decoding in the caller's thread (the default) is faster.
        """
        if prefetch > 0:
            yield from _prefetched(self.chunks(snippets, video, audio, prefetch=0), prefetch, self.path.name)
            return
        if snippets < 1:
            raise ValueError("snippets must be >= 1")
        if not (video or audio):
            raise ValueError("ask for video, audio, or both")
        container = _open(self.path)
        try:
            if self._info is None:  # probe from the container we decode: one open, not two
                self._info = _checked_info(self.path, container)
            if audio and not self._info.has_audio:
                raise MediaError(
                    f"{self.path} has no audio stream; use a visual-only extractor",
                    hint="e.g. `--opt audio=false` for the handcrafted extractor",
                    path=self.path,
                )
            yield from self._decode(container, self.n_snippets, snippets, video, audio)
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"{self.path} cannot be decoded: {_describe_av_error(exc)}",
                hint="the file is corrupt or truncated; re-download or re-encode it",
                path=self.path,
            ) from None
        finally:
            container.close()

    def _decode(
        self, container: av.container.InputContainer, n: int, snippets: int, video: bool, audio: bool
    ) -> Iterator[MediaChunk]:
        vs = container.streams.video[0] if video else None
        aus = container.streams.audio[0] if audio else None
        origin_stream = container.streams.video[0] if container.streams.video else aus
        assert origin_stream is not None
        origin = 0.0
        if origin_stream.start_time is not None and origin_stream.time_base is not None:
            origin = float(origin_stream.start_time * origin_stream.time_base)
        vgrid = agrid = None
        if vs is not None:
            vs.thread_type = "AUTO"
            vgrid = _VideoGrid(n, self.rate, origin, _FrameConverter(self.size, self.crop))
        if aus is not None:
            agrid = _AudioGrid(n, self.rate, self.sample_rate, origin)
        fps = self.info.fps or self.rate
        emitted = 0

        def ready() -> int:
            if vgrid is None:
                return agrid.count  # type: ignore[union-attr]
            return vgrid.count if agrid is None else min(vgrid.count, agrid.count)

        def take(k: int) -> MediaChunk:
            nonlocal emitted
            chunk = MediaChunk(
                start=emitted,
                frames=vgrid.take(k) if vgrid is not None else None,
                audio=agrid.take(k) if agrid is not None else None,
            )
            emitted += k
            return chunk

        streams = [s for s in (vs, aus) if s is not None]
        video_index = vs.index if vs is not None else -1
        for packet in container.demux(*streams):
            if packet.stream.index == video_index:
                assert vgrid is not None
                for frame in packet.decode():
                    vgrid.push(frame, fallback_time=vgrid.n_decoded / fps)
            else:
                assert agrid is not None
                for frame in packet.decode():
                    agrid.push(frame)
            available = ready()
            while available - emitted >= snippets:
                yield take(snippets)
            if available >= n:
                break  # everything on the grid is decoded: skip trailing packets
        if vgrid is not None:
            if vgrid.current is None:
                raise MediaError(
                    f"{self.path} has a video stream but no decodable frame",
                    hint="the file is corrupt or truncated; re-download or re-encode it",
                    path=self.path,
                )
            self._check_complete(vgrid, fps)
            vgrid.finish()
        if agrid is not None:
            agrid.finish()
        while emitted < n:
            yield take(min(snippets, n - emitted))

    def _check_complete(self, vgrid: _VideoGrid, fps: float) -> None:
        """A file whose frames stop well before its declared duration is truncated
        (an mp4 whose index survived but whose data did not)."""
        last = vgrid.last_time if vgrid.last_time is not None else 0.0
        missing = self.info.duration - (last + 1.0 / fps)
        if vgrid.count < vgrid.n and missing > max(1.0, 0.1 * self.info.duration):
            raise MediaError(
                f"{self.path} is truncated: frames stop at {last:.2f} s of {self.info.duration:.2f} s",
                hint="re-download or re-encode the file",
                path=self.path,
            )


def _prefetched(items: Iterator[MediaChunk], depth: int, label: str) -> Iterator[MediaChunk]:
    """Run ``items`` in a daemon thread, ``depth`` items ahead of the consumer.

    Errors are re-raised in the consumer; a consumer that stops early stops the
    thread, which then closes ``items`` (and with it the container) itself.
    """
    box: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: object) -> bool:
        while not stop.is_set():
            try:
                box.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
            put("end", None)
        except BaseException as exc:  # handed to the consumer, re-raised there
            put("error", exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name=f"decode {label}", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "item":
                yield value  # type: ignore[misc]
            elif kind == "end":
                return
            else:
                raise value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


# --------------------------------------------------------------------------- writing


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray] | None,
    audio: np.ndarray | None = None,
    fps: float = 25,
    sample_rate: int = 16000,
    crf: int = 23,
    *,
    preset: str = "veryfast",
    pix_fmt: str = "yuv420p",
    timestamps: Sequence[float] | None = None,
    deterministic: bool = False,
) -> Path:
    """Write an H.264 (libx264) + AAC mp4, streaming frames as they come.

    ``frames``: ``[H, W, 3]`` uint8 RGB arrays, all the same size; with the default
    ``pix_fmt="yuv420p"`` (what every player reads) width and height must be even —
    pass ``pix_fmt="yuv444p"`` for odd sizes. ``None`` writes an audio-only file.
    ``audio``: mono float32 in ``[-1, 1]`` at ``sample_rate`` (``None``: no audio
    stream). ``preset`` trades size for speed (``ultrafast`` … ``veryslow``).
    ``timestamps``: optional presentation time of each frame in seconds (variable
    frame rate); by default frame ``k`` is shown at ``k / fps``. ``deterministic``:
    the same input gives the same file bytes on every run (seeded synthetic data).
    """
    path = Path(path)
    if frames is None and audio is None:
        raise ValueError("nothing to write: no frames and no audio")
    frame_iter = iter(frames) if frames is not None else iter(())
    first = next(frame_iter, None)
    if frames is not None and first is None:
        raise ValueError("frames is empty")
    audio_arr = None
    if audio is not None:
        audio_arr = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.mp4")
    container = av.open(str(tmp), mode="w")
    try:
        vstream = astream = None
        vfr = timestamps is not None
        if first is not None:
            h, w = first.shape[:2]
            if first.ndim != 3 or first.shape[2] != 3 or first.dtype != np.uint8:
                raise ValueError(f"frames must be [H, W, 3] uint8, got {first.shape} {first.dtype}")
            if pix_fmt == "yuv420p" and (w % 2 or h % 2):
                raise ValueError(f"H.264 yuv420p needs even width and height, got {w}x{h}; use pix_fmt='yuv444p'")
            vstream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            vstream.width, vstream.height, vstream.pix_fmt = w, h, pix_fmt
            vstream.options = {"preset": preset, "crf": str(crf)}
            if deterministic:
                # x264's macroblock-tree rate control can differ from run to run (the
                # first encode in a process especially); without it the bytes are
                # identical across runs, processes and thread counts
                vstream.options["x264-params"] = "mbtree=0"
            if vfr:
                vstream.codec_context.time_base = Fraction(1, 1000)
                # no B-frames: mp4 derives the track duration from decode timestamps,
                # which B-frame reordering would pull far behind irregular frame times
                vstream.options["bf"] = "0"
            vstream.thread_type = "AUTO"
        if audio_arr is not None:
            astream = container.add_stream("aac", rate=sample_rate)
            astream.layout = "mono"
        audio_pos = 0
        audio_block = 1024

        def encode_audio_until(t: float | None) -> None:
            nonlocal audio_pos
            if astream is None or audio_arr is None:
                return
            end = audio_arr.size if t is None else min(audio_arr.size, int(round(t * sample_rate)))
            while audio_pos < end:
                stop = min(end, audio_pos + audio_block)
                af = av.AudioFrame.from_ndarray(audio_arr[None, audio_pos:stop], format="flt", layout="mono")
                af.sample_rate = sample_rate
                af.pts = audio_pos
                af.time_base = Fraction(1, sample_rate)
                for packet in astream.encode(af):
                    container.mux(packet)
                audio_pos = stop

        if vstream is not None:
            index = 0
            frame_arr = first
            while frame_arr is not None:
                if frame_arr.shape != first.shape or frame_arr.dtype != np.uint8:
                    raise ValueError(f"frame {index} is {frame_arr.shape} {frame_arr.dtype}, expected {first.shape} uint8")
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_arr), format="rgb24")
                if vfr:
                    assert timestamps is not None
                    vf.pts = int(round(float(timestamps[index]) * 1000))
                    vf.time_base = Fraction(1, 1000)
                    t_next = float(timestamps[index + 1]) if index + 1 < len(timestamps) else None
                else:
                    vf.pts = index
                    t_next = (index + 1) / fps
                for packet in vstream.encode(vf):
                    container.mux(packet)
                encode_audio_until(t_next if t_next is not None else None)
                index += 1
                frame_arr = next(frame_iter, None)
            for packet in vstream.encode(None):
                container.mux(packet)
        encode_audio_until(None)
        if astream is not None:
            for packet in astream.encode(None):
                container.mux(packet)
    except BaseException:
        container.close()
        tmp.unlink(missing_ok=True)
        raise
    container.close()
    os.replace(tmp, path)
    return path


def write_test_video(
    path: str | os.PathLike[str],
    seconds: float = 1.0,
    audio: bool = True,
    fps: float = 25,
    size: tuple[int, int] = (64, 64),
    sample_rate: int = 16000,
    vfr: bool = False,
    seed: int = 0,
) -> Path:
    """A tiny video for tests: a moving bright square on a drifting gradient, plus an
    amplitude-modulated tone. ``size`` is (width, height); odd sizes are written as
    yuv444p. ``vfr=True`` draws frame intervals at random (seeded) between 0.5 and 2
    frame periods, so timestamps are irregular."""
    rng = np.random.default_rng(seed)
    w, h = int(size[0]), int(size[1])
    if vfr:
        times = [0.0]
        while True:
            t = times[-1] + float(rng.uniform(0.5, 2.0)) / fps
            if t >= seconds - 1e-9:
                break
            times.append(round(t, 3))
        timestamps: list[float] | None = times
        n_frames = len(times)
    else:
        timestamps = None
        n_frames = max(1, int(round(seconds * fps)))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = float(rng.uniform(0, 2 * np.pi))

    def frames() -> Iterator[np.ndarray]:
        for k in range(n_frames):
            t = timestamps[k] if timestamps is not None else k / fps
            base = 96 + 64 * np.sin(2 * np.pi * (xx / max(w, 1) + 0.5 * t) + phase)
            img = np.repeat(base[..., None], 3, axis=2)
            img[..., 1] = 96 + 64 * np.cos(2 * np.pi * (yy / max(h, 1) - 0.3 * t))
            s = max(2, min(w, h) // 4)
            x0 = int((w - s) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t)))
            y0 = int((h - s) * (0.5 + 0.5 * np.cos(2 * np.pi * 0.4 * t)))
            img[y0 : y0 + s, x0 : x0 + s] = 235
            yield img.astype(np.uint8)

    sound = None
    if audio:
        ts = np.arange(int(round(seconds * sample_rate))) / sample_rate
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * ts + phase)
        sound = (0.3 * envelope * np.sin(2 * np.pi * 440.0 * ts)).astype(np.float32)
    pix_fmt = "yuv444p" if (w % 2 or h % 2) else "yuv420p"
    return write_video(
        path, frames(), sound, fps=fps, sample_rate=sample_rate, preset="ultrafast", pix_fmt=pix_fmt, timestamps=timestamps
    )
