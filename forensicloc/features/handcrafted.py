"""The ``handcrafted`` extractor: fast descriptors with no learned weights.

It needs no model download and runs at decoding speed, so every method can be tried
on any machine; learned features (e.g. the public LAV-DF TSN / BYOL-A arrays) come in
through the ``precomputed`` extractor instead.

Visual stream, per snippet, from the face box of the frame (``face_box``, relative to
the frame) decoded straight to ``face_size`` x ``face_size`` pixels, and the mouth box
(``mouth_box``, relative to the face box). Whole-face statistics are computed at half
that resolution (2x2 means), the mouth at full resolution: lip-sync forgeries live
there, and the rest of the face costs a quarter as much. The default boxes fit a centred talking
head, as in LAV-DF's face crops and the synthetic generator's videos: the face box
spans 20–80 % of the width and 10–90 % of the height, the mouth box 35–65 % of the
width and 50–78 % of the height of the frame. With the defaults (``face_grid=8``,
``mouth_grid=6``, ``profile_bins=8``) ``Dv = 134``, in this order:

- face grid, ``face_grid²`` (64): grayscale face, block means on a grid;
- mouth grid, ``mouth_grid²`` (36): grayscale mouth, block means on a grid;
- colour, 12: RGB mean and std of the face, then of the mouth;
- texture, 6: mean abs x and y gradient of the face, of the mouth, then mean abs
  Laplacian of the face and of the mouth (blending and re-rendering smooth or
  sharpen these);
- mouth opening, ``profile_bins + 2`` (10): the vertical intensity profile of the
  mouth's central columns (the dark gap between the lips), the face mean minus the
  darkest profile band, and the fraction of dark mouth pixels;
- motion, 6: against the previous snippet, the mean abs difference of face pixels and
  of mouth pixels, the mean squared change of the face grid and of the mouth grid, the
  mean abs change of the profile, and the change of the mouth's RGB mean.

Audio stream, per snippet (its ``sample_rate / rate`` samples, Hann window, one FFT):
``Da = n_mels + 7``: log-mel energies, then log energy, spectral centroid (fraction of
Nyquist), spectral flux vs the previous snippet, zero-crossing rate, spectral
flatness, log2(pitch / 100 Hz) and voicing strength (autocorrelation peak in
60–400 Hz).

Values are on fixed scales (pixels in ``[0, 1]``, log powers); nothing is standardised
per video: scorers normalise. The first snippet's motion and flux are zero. Results do
not depend on the decoding chunk size (state is carried across chunks).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from forensicloc.api import Features, FeatureExtractor, ProgressCallback, no_progress
from forensicloc.errors import BadInputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from forensicloc.media import MediaSource

_GRAY = np.array([0.299, 0.587, 0.114], np.float32)
#: two horizontally adjacent RGB pixels (6 values) -> their mean colour (x 1/2 again for the row pair)
_HALVE = np.vstack([np.eye(3), np.eye(3)]).astype(np.float32) * 0.25
_N_COLOUR, _N_TEXTURE, _N_MOTION, _N_AUDIO_EXTRA = 12, 6, 6, 7
_PITCH_RANGE = (60.0, 400.0)
_PITCH_BAND = 2000.0  # Hz kept for the pitch autocorrelation
_N_FFT_MIN = 1024  # 15.6 Hz bins at 16 kHz
#: snippets per visual batch (rows never depend on the batch: see HandcraftedExtractor._visual)
_BATCH = 64


def _mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, fmin: float = 20.0) -> np.ndarray:
    """``[n_fft // 2 + 1, n_mels]`` triangular filters, evenly spaced on the HTK mel scale."""

    def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    fmax = sample_rate / 2.0
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    freqs = np.linspace(0.0, fmax, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - freqs[None]) / np.maximum(upper - centre, 1e-9)
    bank = np.clip(np.minimum(rising, falling), 0.0, None)
    return bank.T.astype(np.float32)


def _box(box: Any, name: str) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise BadInputError(f"handcrafted option {name} must be four numbers x0,y0,x1,y1, got {box!r}") from None
    if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
        raise BadInputError(f"handcrafted option {name}={box!r} is not a relative box with 0 <= x0 < x1 <= 1")
    return x0, y0, x1, y1


def _pool_matrices(h: int, w: int, g: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows [g, h], cols [w, g])`` averaging matrices: ``rows @ img @ cols`` is the
    ``g x g`` grid of block means of an ``h x w`` image (blocks as even as rows allow)."""

    def averaging(size: int) -> np.ndarray:
        band = np.minimum(((np.arange(size) + 0.5) * g / size).astype(int), g - 1)
        onehot = np.eye(g, dtype=np.float32)[band]  # [size, g]
        return onehot / np.maximum(onehot.sum(axis=0, keepdims=True), 1.0)

    return averaging(h).T.copy(), averaging(w)


def _pool(img: np.ndarray, pool: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``[n, h, w]`` -> ``[n, g * g]`` block means (batched per image)."""
    rows, cols = pool
    return (rows @ (img @ cols)).reshape(img.shape[0], -1)


def _rowwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a [n, k] @ b [k, m]`` as ``n`` separate products: each row's result is then
    the same whatever ``n`` is (a single BLAS call may sum in a size-dependent order)."""
    return np.matmul(a[:, None, :], b)[:, 0]


class _Workspace:
    """Scratch arrays reused from batch to batch of one video.

    Fresh multi-megabyte temporaries cost more than the arithmetic on them: the
    allocator hands them back to the kernel and every batch page-faults them in again
    (measured: about two thirds of the visual descriptors' time). ``get`` returns a
    view of a buffer kept by name, grown when a larger shape is asked for.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape))
        buf = self._buffers.get(name)
        if buf is None or buf.size < size:
            buf = self._buffers[name] = np.empty(size, np.float32)
        return buf[:size].reshape(shape)


_THREAD_LOCAL = threading.local()


def _workspace() -> _Workspace:
    """This thread's workspace: kept across videos, so that even short videos do not
    pay for fresh pages (and threads never share one)."""
    ws = getattr(_THREAD_LOCAL, "workspace", None)
    if ws is None:
        ws = _THREAD_LOCAL.workspace = _Workspace()
    return ws


def _colour_stats(rgb: np.ndarray, ws: _Workspace, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of ``[n, h, w, 3]`` (one pass of sums and squares)."""
    n = rgb.shape[0]
    flat = rgb.reshape(n, -1, 3)
    ones = np.ones(flat.shape[1], np.float32)
    mean = np.matmul(ones, flat) / flat.shape[1]
    sq = np.matmul(ones, np.multiply(flat, flat, out=ws.get(name, flat.shape))) / flat.shape[1]
    return mean, np.sqrt(np.maximum(sq - mean * mean, 0.0))


def _texture(img: np.ndarray, ws: _Workspace, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean abs x gradient, y gradient and Laplacian of ``[n, h, w]`` images (the
    Laplacian as the sum of the second differences of the gradients)."""
    n, h, w = img.shape
    dx = np.subtract(img[:, :, 1:], img[:, :, :-1], out=ws.get(name + ".dx", (n, h, w - 1)))
    dy = np.subtract(img[:, 1:], img[:, :-1], out=ws.get(name + ".dy", (n, h - 1, w)))
    lap = np.subtract(dx[:, 1:-1, 1:], dx[:, 1:-1, :-1], out=ws.get(name + ".lap", (n, h - 2, w - 2)))
    lap += dy[:, 1:, 1:-1]
    lap -= dy[:, :-1, 1:-1]
    for arr in (dx, dy, lap):
        np.abs(arr, out=arr)
    return dx.reshape(n, -1).mean(axis=1), dy.reshape(n, -1).mean(axis=1), lap.reshape(n, -1).mean(axis=1)


def _abs_step(now: np.ndarray, before: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``|now[i] - now[i - 1]|`` with ``before`` as ``now[-1]``, flattened to ``[n, -1]``."""
    np.subtract(now[1:], now[:-1], out=out[1:])
    np.subtract(now[:1], before, out=out[:1])
    np.abs(out, out=out)
    return out.reshape(len(now), -1)


@dataclass
class HandcraftedExtractor(FeatureExtractor):
    """Face/mouth appearance, mouth opening and motion; log-mel and prosody of audio."""

    name: ClassVar[str] = "handcrafted"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "fast descriptors, no learned weights: face/mouth appearance + motion, log-mel + prosody"
    requires_audio: ClassVar[bool] = True  # per instance: False when audio=False

    face_size: int = field(default=64, metadata={"help": "analysis size (pixels) of the face box, decoded straight to it"})
    face_box: tuple[float, float, float, float] = field(
        default=(0.2, 0.1, 0.8, 0.9), metadata={"help": "face region x0,y0,x1,y1 relative to the frame"}
    )
    mouth_box: tuple[float, float, float, float] = field(
        default=(0.25, 0.5, 0.75, 0.85), metadata={"help": "mouth region x0,y0,x1,y1 relative to the face box"}
    )
    face_grid: int = field(default=8, metadata={"help": "face grayscale grid side (face_grid² dims)"})
    mouth_grid: int = field(default=6, metadata={"help": "mouth grayscale grid side (mouth_grid² dims)"})
    profile_bins: int = field(default=8, metadata={"help": "bands of the mouth's vertical intensity profile"})
    n_mels: int = field(default=40, metadata={"help": "mel bands of the audio stream"})
    sample_rate: int = field(default=16000, metadata={"help": "audio is resampled to this rate (Hz)"})
    audio: bool = field(default=True, metadata={"help": "extract the audio stream (false: visual only, works without audio)"})

    def __post_init__(self) -> None:
        self.face_box = _box(self.face_box, "face_box")
        self.mouth_box = _box(self.mouth_box, "mouth_box")
        for opt in ("face_size", "face_grid", "mouth_grid", "profile_bins", "n_mels", "sample_rate"):
            if int(getattr(self, opt)) < 1:
                raise BadInputError(f"handcrafted option {opt} must be >= 1, got {getattr(self, opt)!r}")
            setattr(self, opt, int(getattr(self, opt)))
        if self.face_size < 16 or self.face_size % 2:
            raise BadInputError(f"handcrafted option face_size must be even and >= 16, got {self.face_size}")
        self.audio = bool(self.audio)
        # instance attributes shadow the class defaults: a visual-only instance needs no audio
        self.requires_audio = self.audio
        self.modalities = ("visual", "audio") if self.audio else ("visual",)
        s = self.face_size
        mx0, my0, mx1, my1 = self.mouth_box
        self._mouth_px = (
            int(round(mx0 * s)),
            int(round(my0 * s)),
            max(int(round(mx0 * s)) + 2, int(round(mx1 * s))),
            max(int(round(my0 * s)) + 2, int(round(my1 * s))),
        )
        mh, mw = self._mouth_px[3] - self._mouth_px[1], self._mouth_px[2] - self._mouth_px[0]
        self._face_pool = _pool_matrices(s // 2, s // 2, self.face_grid)  # on the half-resolution face
        self._mouth_pool = _pool_matrices(mh, mw, self.mouth_grid)
        # rows of the mouth -> profile bands: a [rows, bands] averaging matrix
        self._profile_matrix = _pool_matrices(mh, 1, self.profile_bins)[0].T.copy()

    # ---------------------------------------------------------------- contract

    def dims(self) -> dict[str, int]:
        visual = (
            self.face_grid**2 + self.mouth_grid**2 + _N_COLOUR + _N_TEXTURE + self.profile_bins + 2 + _N_MOTION
        )
        out = {"visual": visual}
        if self.audio:
            out["audio"] = self.n_mels + _N_AUDIO_EXTRA
        return out

    def extract(
        self,
        source: MediaSource | str | os.PathLike[str],
        progress: ProgressCallback = no_progress,
        *,
        chunk: int = 250,
        prefetch: int = 0,
    ) -> Features:
        """Features of ``source`` (a :class:`~forensicloc.media.MediaSource` or a path),
        decoded ``chunk`` snippets at a time (the result does not depend on ``chunk``;
        ``prefetch`` decodes in a background thread, see ``MediaSource.chunks``).
        The source's file and snippet rate are used; its size and crop are replaced:
        frames are decoded straight to the face box at ``face_size``."""
        from forensicloc.media import MediaSource

        if not isinstance(source, MediaSource):
            source = MediaSource(source)
        src = source.with_options(
            size=(self.face_size, self.face_size), sample_rate=self.sample_rate, crop=self.face_box
        )
        dims = self.dims()
        window = np.hanning(src.samples_per_snippet + 2)[1:-1].astype(np.float32)
        n_fft = max(_N_FFT_MIN, 1 << int(np.ceil(np.log2(max(2, src.samples_per_snippet)))))
        bank = _mel_filterbank(self.n_mels, n_fft, self.sample_rate) if self.audio else None
        vstate: dict[str, Any] = {}
        astate: dict[str, np.ndarray] = {}
        visual = audio = None
        n = 0
        for ch in src.chunks(snippets=chunk, video=True, audio=self.audio, prefetch=prefetch):
            if visual is None:  # the first chunk has probed the file
                n = src.n_snippets
                visual = np.empty((n, dims["visual"]), np.float32)
                audio = np.empty((n, dims["audio"]), np.float32) if self.audio else None
                progress(0, n, f"{self.name}: {src.path.name}")
            end = ch.start + len(ch)
            assert ch.frames is not None
            # small batches stay in cache: about twice as fast as whole chunks
            for i in range(0, len(ch), _BATCH):
                visual[ch.start + i : min(end, ch.start + i + _BATCH)] = self._visual(ch.frames[i : i + _BATCH], vstate)
            if audio is not None:
                assert ch.audio is not None and bank is not None
                audio[ch.start : end] = self._audio(ch.audio, astate, window, n_fft, bank)
            progress(end, n, f"{self.name}: {src.path.name}")
        assert visual is not None  # a source always has at least one snippet
        streams = {"visual": visual}
        if audio is not None:
            streams["audio"] = audio
        return Features(streams=streams, rate=src.rate, duration=src.info.duration, extractor=self.name)

    # ---------------------------------------------------------------- visual

    def _visual(self, frames: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        """``[n, S, S, 3]`` uint8 face crops -> ``[n, Dv]``; ``state`` carries the last
        snippet's descriptors to the next chunk (for motion).

        Speed matters (extraction must keep up with decoding): pixels stay on the 0..255
        scale until the small results are divided, reductions run over contiguous
        trailing axes, and every matrix product is batched per snippet so that a row's
        result never depends on how many snippets share the chunk.
        """
        n, s = frames.shape[:2]
        mx0, my0, mx1, my1 = self._mouth_px
        ws = _workspace()
        rgb = ws.get("rgb", frames.shape)
        np.copyto(rgb, frames)  # uint8 -> float32, 0..255
        # the whole face at half resolution (2x2 means): a quarter of the work; the mouth,
        # where lip-sync forgeries live, at full resolution. Vertical pairs are added over
        # long contiguous rows, horizontal pairs by a [6, 3] product (strided 2x2 slicing
        # with 3 channels innermost is several times slower).
        rows = rgb.reshape(n, s // 2, 2, s // 2 * 6)
        pairs = np.add(rows[:, :, 0], rows[:, :, 1], out=ws.get("pairs", (n, s // 2, s // 2 * 6)))
        half = np.matmul(pairs.reshape(n, s // 2, s // 2, 6), _HALVE, out=ws.get("half", (n, s // 2, s // 2, 3)))
        h_gray = np.matmul(half, _GRAY, out=ws.get("half_gray", (n, s // 2, s // 2)))
        m_rgb = ws.get("mouth_rgb", (n, my1 - my0, mx1 - mx0, 3))
        np.copyto(m_rgb, rgb[:, my0:my1, mx0:mx1])
        m_gray = np.matmul(m_rgb, _GRAY, out=ws.get("mouth_gray", m_rgb.shape[:3]))

        face_grid = _pool(h_gray, self._face_pool) / 255.0
        mouth_grid = _pool(m_gray, self._mouth_pool) / 255.0

        f_mean, f_std = _colour_stats(half, ws, "face_sq")
        m_mean, m_std = _colour_stats(m_rgb, ws, "mouth_sq")
        colour = np.concatenate([f_mean, f_std, m_mean, m_std], axis=1) / 255.0

        texture = np.stack([*_texture(h_gray, ws, "face"), *_texture(m_gray, ws, "mouth")], axis=1)
        texture = texture[:, [0, 1, 3, 4, 2, 5]] / 255.0

        # mouth opening: the dark gap between the lips shows in the central columns' profile
        mh, mw = m_gray.shape[1:]
        centre = m_gray[:, :, mw // 4 : max(mw // 4 + 1, mw - mw // 4)].mean(axis=2)  # [n, mh]
        profile = _rowwise(centre, self._profile_matrix) / 255.0  # [n, profile_bins]
        face_lum = (f_mean * _GRAY).sum(axis=1) / 255.0  # elementwise: no size-dependent BLAS
        contrast = face_lum - profile.min(axis=1)
        dark = (m_gray.reshape(n, -1) < (face_lum[:, None] - 0.1) * 255.0).mean(axis=1)
        opening = np.concatenate([profile, contrast[:, None], dark[:, None]], axis=1)

        # motion vs the previous snippet (the first snippet of the video against itself)
        def previous(key: str, now: np.ndarray) -> np.ndarray:
            before = state.get(key, now[:1])
            return np.concatenate([before, now[:-1]], axis=0)

        face_diff = _abs_step(h_gray, state.get("face", h_gray[:1]), ws.get("face_diff", h_gray.shape))
        mouth_diff = _abs_step(m_gray, state.get("mouth", m_gray[:1]), ws.get("mouth_diff", m_gray.shape))
        motion = np.stack(
            [
                face_diff.mean(axis=1) / 255.0,
                mouth_diff.mean(axis=1) / 255.0,
                ((face_grid - previous("face_grid", face_grid)) ** 2).mean(axis=1),
                ((mouth_grid - previous("mouth_grid", mouth_grid)) ** 2).mean(axis=1),
                np.abs(profile - previous("profile", profile)).mean(axis=1),
                np.sqrt((((m_mean - previous("mouth_mean", m_mean)) / 255.0) ** 2).sum(axis=1)),
            ],
            axis=1,
        )
        state.update(
            face=h_gray[-1:].copy(),
            mouth=m_gray[-1:].copy(),
            face_grid=face_grid[-1:],
            mouth_grid=mouth_grid[-1:],
            profile=profile[-1:],
            mouth_mean=m_mean[-1:],
        )
        return np.concatenate([face_grid, mouth_grid, colour, texture, opening, motion], axis=1, dtype=np.float32)

    # ---------------------------------------------------------------- audio

    def _audio(
        self, samples: np.ndarray, state: dict[str, np.ndarray], window: np.ndarray, n_fft: int, bank: np.ndarray
    ) -> np.ndarray:
        """``[n, samples_per_snippet]`` -> ``[n, Da]``; ``state`` carries the last
        magnitude spectrum (for flux)."""
        import scipy.fft  # several times faster than numpy.fft for these sizes

        x = samples.astype(np.float32, copy=False)
        n, length = x.shape
        ws = _workspace()  # reused buffers: fresh ones page-fault (see _Workspace)
        # zero-pad into a reused buffer: scipy's own padding (n=...) is three times slower
        padded = ws.get("audio_padded", (n, n_fft))
        padded[:, length:] = 0.0
        np.multiply(x, window, out=padded[:, :length])
        spec = scipy.fft.rfft(padded, axis=1)
        bins = spec.shape[1]
        mag = np.abs(spec, out=ws.get("audio_mag", (n, bins)))
        power = np.multiply(mag, mag, out=ws.get("audio_power", (n, bins)))
        mel = np.log(_rowwise(power, bank) + 1e-8)
        energy = np.log(np.einsum("ij,ij->i", x, x) / length + 1e-10)
        total = power.sum(axis=1) + 1e-12
        freqs = np.linspace(0.0, 1.0, bins, dtype=np.float32)[:, None]
        centroid = _rowwise(power, freqs)[:, 0] / total
        step = ws.get("audio_step", (n, bins))
        np.subtract(mag[1:], mag[:-1], out=step[1:])
        np.subtract(mag[:1], state.get("mag", mag[:1]), out=step[:1])
        flux = np.log1p(np.sqrt(np.einsum("ij,ij->i", step, step)))
        signs = np.signbit(x)
        zcr = np.count_nonzero(signs[:, 1:] != signs[:, :-1], axis=1) / (length - 1)
        logs = np.log(np.add(power, 1e-12, out=step), out=step)  # the step buffer is free again
        flatness = np.exp(logs.mean(axis=1)) / (total / bins)
        pitch, voicing = self._pitch(power, n_fft)
        state["mag"] = mag[-1:].copy()
        extra = np.stack([energy, centroid, flux, zcr, flatness, pitch, voicing], axis=1)
        return np.concatenate([mel, extra], axis=1, dtype=np.float32)

    def _pitch(self, power: np.ndarray, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
        """``log2(f0 / 100 Hz)`` and voicing (normalised autocorrelation peak) per snippet.

        The autocorrelation is the inverse FFT of the power spectrum; only the band up
        to 2 kHz is kept, which also decimates it to a 4 kHz lag grid (cheap, and
        enough for 60–400 Hz voices), and the peak is refined by a parabola.
        """
        import scipy.fft

        lag_rate = 2 * _PITCH_BAND
        bins = int(round(_PITCH_BAND * n_fft / self.sample_rate))
        size = 2 * bins
        ac = scipy.fft.irfft(power[:, : bins + 1], n=size, axis=1)
        lo = max(1, int(np.floor(lag_rate / _PITCH_RANGE[1])))
        hi = min(int(np.ceil(lag_rate / _PITCH_RANGE[0])), size // 2 - 2)
        rows = np.arange(len(ac))
        lag = lo + np.argmax(ac[:, lo : hi + 1], axis=1)
        left, peak, right = ac[rows, lag - 1], ac[rows, lag], ac[rows, lag + 1]
        curve = left - 2 * peak + right
        shift = np.where(curve < 0, 0.5 * (left - right) / np.where(curve < 0, curve, -1.0), 0.0)
        refined = lag + np.clip(shift, -0.5, 0.5)
        voicing = np.clip(peak / (ac[:, 0] + 1e-12), 0.0, 1.0)
        return np.log2(lag_rate / refined / 100.0), voicing
