"""One synthetic video: an authentic recording, then the forgeries of its spec.

Everything is drawn from seeded generators keyed by ``(seed, purpose, id)``: the
speaker's looks and voice by speaker id, the recording (what is said, head motion,
room, sensor noise) by the *source* video's index, and the forgeries by this video's
own index. A fake therefore shows exactly its original recording except inside the
forged segments, as in LAV-DF, and any video can be rendered alone, in any order or
process, with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forensicloc.synth.face import Appearance, Motion, make_appearance, make_motion, make_plate, render_frames
from forensicloc.synth.forgery import (
    AUDIO_FAMILIES,
    FAMILIES,
    VISUAL_FAMILIES,
    VisualEdit,
    box_blur3,
    choose_families,
    choose_segments,
    disc_mask,
    draw_visual_edit,
    forge_audio,
    splice_in,
)
from forensicloc.synth.speech import (
    FPS,
    SAMPLES_PER_FRAME,
    Plan,
    apply_channel,
    articulation,
    make_channel,
    make_plan,
    make_voice,
    render_speech,
)

#: frames rendered at once (bounds memory for long videos)
CHUNK = 8
#: distinct sensor-noise frames, rolled at random per frame
NOISE_BANK = 6

# purposes in the seed key
_SPEAKER, _RECORDING, _SPEECH, _FORGERY, _NOISE = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class VideoSpec:
    """What to render. ``kind`` is ``real``, ``visual``, ``audio`` or ``both``.

    ``segments`` (frame ranges) and ``families`` may be given to force a forgery
    (tests, demos); otherwise they are drawn from the plan of the recording.
    """

    seed: int
    index: int
    source: int
    speaker: int
    n_frames: int
    size: int = 96
    kind: str = "real"
    n_segments: int = 1
    audio_families: tuple[str, ...] = AUDIO_FAMILIES
    visual_families: tuple[str, ...] = VISUAL_FAMILIES
    min_segment: float = 0.2
    max_segment: float = 2.0
    segments: tuple[tuple[int, int], ...] | None = None
    families: tuple[str, ...] | None = None


@dataclass
class RenderedVideo:
    frames: np.ndarray  # [T, S, S, 3] uint8
    audio: np.ndarray  # [T * 640] float32 mono, 16 kHz
    segments: list[tuple[int, int]]  # forged frame ranges [start, stop)
    families: list[str]  # one per segment
    opening: np.ndarray  # [T] mouth opening shown in each frame
    mouth_centre: np.ndarray  # [T, 2] (row, col) pixels
    mouth_radius: float
    extras: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.frames.shape[0] / FPS


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def _lagged(track: np.ndarray, lag: int) -> np.ndarray:
    """The mouth trails the sound by ``lag`` frames."""
    if lag <= 0:
        return track
    return np.concatenate([np.repeat(track[:1], lag), track[:-lag]])


def render_video(spec: VideoSpec) -> RenderedVideo:
    """Frames and audio of one video, authentic or forged per ``spec``."""
    T, S = spec.n_frames, spec.size
    n_samples = T * SAMPLES_PER_FRAME
    duration = T / FPS

    srng = _rng(spec.seed, _SPEAKER, spec.speaker)
    voice = make_voice(srng)
    app = make_appearance(srng)
    lag = int(srng.integers(0, 2))

    rrng = _rng(spec.seed, _RECORDING, spec.source)
    plan = make_plan(rrng, duration, voice)
    channel = make_channel(rrng)
    motion = make_motion(rrng, T, FPS)
    plate = make_plate(app, S, rrng)
    noise_sigma = float(rrng.uniform(1.5, 3.5))

    speech = render_speech(plan, voice, n_samples, _rng(spec.seed, _SPEECH, spec.source))
    audio = apply_channel(speech, channel)
    opening, width = articulation(plan, T)
    opening, width = _lagged(opening, lag), _lagged(width, lag)

    segments: list[tuple[int, int]] = []
    families: list[str] = []
    edits: list[VisualEdit] = []
    if spec.kind != "real":
        frng = _rng(spec.seed, _FORGERY, spec.index)
        if spec.segments is not None:
            segments = [(int(a), int(b)) for a, b in spec.segments]
        else:
            segments = choose_segments(plan, T, spec.n_segments, spec.min_segment, spec.max_segment, frng)
        if spec.families is not None:
            families = list(spec.families)
        else:
            families = choose_families(spec.kind, len(segments), spec.audio_families, spec.visual_families, frng)
        for (f0, f1), family in zip(segments, families, strict=True):
            audio_family = next((f for f in family.split("+") if FAMILIES[f] == "audio"), None)
            visual_family = next((f for f in family.split("+") if FAMILIES[f] == "visual"), None)
            mouth_plan: Plan | None = None
            if audio_family:
                edit = forge_audio(audio_family, plan, voice, channel, speech, (f0 / FPS, f1 / FPS), frng)
                splice_in(audio, edit.samples, f0 * SAMPLES_PER_FRAME, f1 * SAMPLES_PER_FRAME)
                mouth_plan = edit.plan
            if visual_family in ("lip-sync", "blend") and (mouth_plan is not None or visual_family == "lip-sync"):
                # a generator animates the mouth from the audio it is given: the forged
                # audio when there is one, otherwise some other speech
                driver = mouth_plan if mouth_plan is not None else make_plan(frng, duration, voice)
                o2, w2 = articulation(driver, T)
                opening[f0:f1] = _lagged(o2, lag)[f0:f1]
                width[f0:f1] = _lagged(w2, lag)[f0:f1]
            if visual_family:
                edits.append(draw_visual_edit(visual_family, f0, f1, frng))

    frames, centres, radius = _render_all(spec, app, motion, plate, opening, width, edits, noise_sigma)
    shown = opening.copy()
    for e in edits:
        if e.family == "freeze":
            shown[e.start : e.stop] = shown[e.start]
    return RenderedVideo(
        frames=frames,
        audio=np.clip(audio, -1.0, 1.0).astype(np.float32),
        segments=segments,
        families=families,
        opening=shown,
        mouth_centre=centres,
        mouth_radius=radius,
        extras={"voice": voice, "plan": plan, "lag": lag},
    )


def _render_all(
    spec: VideoSpec,
    app: Appearance,
    motion: Motion,
    plate: np.ndarray,
    opening: np.ndarray,
    width: np.ndarray,
    edits: list[VisualEdit],
    noise_sigma: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Render, add sensor noise and apply the visual edits, chunk by chunk.

    Edits that stand for a generator's output (lip-sync, blend, freeze) are applied
    *after* the sensor noise, as a forger edits a recorded video: the edited region
    then lacks (or repeats) the camera's noise, one of the subtle traces to find.
    """
    T, S = spec.n_frames, spec.size
    nrng = _rng(spec.seed, _NOISE, spec.source)
    # a bank of noise frames larger than a frame: each frame adds a window of one, at a
    # random offset (cheaper than fresh noise per frame, and no visible repetition)
    pad = S // 2
    bank = nrng.standard_normal((NOISE_BANK, 3, S + pad, S + pad), dtype=np.float32) * np.float32(noise_sigma)
    pick = nrng.integers(0, NOISE_BANK, T)
    offsets = nrng.integers(0, pad + 1, (T, 2))
    out = np.empty((T, S, S, 3), dtype=np.uint8)
    centres = np.empty((T, 2))
    radius = 0.0
    frozen: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # edit number -> held frame, mask
    for c0 in range(0, T, CHUNK):
        c1 = min(T, c0 + CHUNK)
        img, geo = render_frames(app, motion, plate, opening, width, slice(c0, c1))  # [3, n, S, S]
        centres[c0:c1] = geo.mouth_centre
        radius = geo.mouth_radius
        active = [(k, e, max(e.start, c0) - c0, min(e.stop, c1) - c0) for k, e in enumerate(edits) if e.start < c1 and e.stop > c0]
        for _, e, a, b in active:
            if e.family == "colour-shift":
                rows, cols = geo.face_window
                for c in range(3):
                    region = img[c, a:b, rows, cols]
                    region += region * (geo.face_mask[a:b] * np.float32(e.gain[c] - 1.0))
        for k in range(c1 - c0):
            t = c0 + k
            r, c = int(offsets[t, 0]), int(offsets[t, 1])
            img[:, k] += bank[pick[t], :, r : r + S, c : c + S]
        for key, e, a, b in active:
            region = img[:, a:b]
            if e.family == "lip-sync":
                r = geo.mouth_radius
                mask = disc_mask(S, geo.mouth_centre[a:b], (0.55 * r, 0.8 * r), feather=2.5)
                region += mask * (box_blur3(region) - region)
            elif e.family == "blend":
                ry, rx = geo.face_radius
                mask = disc_mask(S, geo.face_centre[a:b], (0.85 * ry, 0.85 * rx), feather=4.0)
                moved = box_blur3(np.roll(region, e.shift, axis=(2, 3))) * np.float32(e.gain[0])
                region += mask * (moved - region)
            elif e.family == "freeze":
                if key not in frozen:  # the first chunk of the edit holds its first frame
                    ry, rx = geo.face_radius
                    m = disc_mask(S, geo.face_centre[a : a + 1], (1.02 * ry, 1.05 * rx), feather=3.0)
                    frozen[key] = (img[:, a : a + 1].copy(), m)
                ref, m = frozen[key]
                region += m * (ref - region)
        img += np.float32(0.5)
        np.clip(img, 0, 255, out=img)
        planar = img.astype(np.uint8)  # truncates: the +0.5 made it round
        for c in range(3):  # interleave channel by channel (much faster than one transposed copy)
            out[c0:c1, :, :, c] = planar[c]
    return out, centres, radius


# keep the recording-level helpers importable for tests and tools
__all__ = ["CHUNK", "RenderedVideo", "VideoSpec", "make_channel", "render_video"]
