"""Forgery families: where a forgery goes, and what each family does to a recording.

Forgeries follow LAV-DF's content-driven recipe: a few words are replaced. A segment
starts and ends in the pauses around whole words (snapped to the frame grid), so the
cut itself is quiet; what gives it away is what happened inside:

audio families
  ``voice-swap``   the words re-said by a cloned voice (other pitch and vocal tract),
                   clean studio audio pasted in (no room echo, lower noise floor)
  ``pitch-shift``  the words re-said by the same voice at another, flatter pitch
  ``splice``       audio cut from another recording of the speaker (other words, own
                   timing, other room and noise) pasted over the span
visual families
  ``lip-sync``     the mouth re-rendered from other audio (or from the forged audio when
                   both tracks are forged), the mouth region slightly smoothed
  ``blend``        the face re-rendered a pixel off and blended back with a feathered
                   mask: faint seams, less sensor noise inside
  ``colour-shift`` the face region's colour balance off by a few percent
  ``freeze``       the face region held still while the rest of the frame goes on

Every edit keeps the original timing and level around it, so no global statistic of
the video (mean colour, loudness, length) says which segment was edited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from forensicloc.synth.speech import (
    FPS,
    SAMPLE_RATE,
    Channel,
    Plan,
    Voice,
    apply_channel,
    make_channel,
    make_plan,
    noise_floor,
    render_speech,
    replace_words,
)

#: family -> the track it forges
FAMILIES: dict[str, str] = {
    "voice-swap": "audio",
    "pitch-shift": "audio",
    "splice": "audio",
    "lip-sync": "visual",
    "blend": "visual",
    "colour-shift": "visual",
    "freeze": "visual",
}
#: family -> one line on what it does (shown by `forensicloc datasets families`)
DESCRIPTIONS: dict[str, str] = {
    "voice-swap": "words re-said by a cloned voice, pasted as clean studio audio",
    "pitch-shift": "words re-said by the same voice at another, flatter pitch",
    "splice": "audio cut from another recording of the speaker pasted over the span",
    "lip-sync": "mouth re-animated from other (or the forged) audio, mouth region smoothed",
    "blend": "face re-rendered a pixel off and blended back: faint seams, less sensor noise",
    "colour-shift": "colour balance of the face region off by a few percent",
    "freeze": "face region held still while the rest of the frame goes on",
}
AUDIO_FAMILIES = tuple(f for f, m in FAMILIES.items() if m == "audio")
VISUAL_FAMILIES = tuple(f for f, m in FAMILIES.items() if m == "visual")
#: modify kinds of a fake video, LAV-DF style: every segment of a video forges the same tracks
KINDS = ("visual", "audio", "both")


def family_modalities(family: str) -> tuple[str, ...]:
    """``"voice-swap+lip-sync"`` -> ``("audio", "visual")``."""
    return tuple(FAMILIES[f] for f in family.split("+"))


# --------------------------------------------------------------------------- placement


def choose_segments(
    plan: Plan,
    n_frames: int,
    count: int,
    min_len: float,
    max_len: float,
    rng: np.random.Generator,
) -> list[tuple[int, int]]:
    """Up to ``count`` non-overlapping segments as frame ranges ``[start, stop)``.

    A segment covers whole words (a run of one or more) plus a little of the pauses
    around them, and lasts between ``min_len`` and ``max_len`` seconds.
    """
    lo, hi = max(1, int(np.ceil(min_len * FPS - 1e-9))), max(1, int(np.floor(max_len * FPS + 1e-9)))
    words = plan.words
    chosen: list[tuple[int, int]] = []
    gap = 3  # frames between two segments
    for _ in range(40 * count):
        if len(chosen) >= count:
            break
        target = rng.uniform(min_len, max_len)
        if words:
            i = int(rng.integers(len(words)))
            j = i
            while j + 1 < len(words) and words[j + 1].end - words[i].start <= max_len and words[j].end - words[i].start < target:
                j += 1
            start = int(np.floor((words[i].start - rng.uniform(0.0, 0.04)) * FPS))
            stop = int(np.ceil((words[j].end + rng.uniform(0.0, 0.04)) * FPS))
        else:  # no speech to align with: anywhere
            start = int(rng.integers(0, max(1, n_frames - lo)))
            stop = start + int(target * FPS)
        start = max(start, 0)
        stop = min(max(stop, start + lo), start + hi, n_frames)
        if stop - start < lo:
            start = max(0, stop - lo)
        if stop - start < lo or stop - start > hi:
            continue
        if any(start < b + gap and a < stop + gap for a, b in chosen):
            continue
        chosen.append((start, stop))
    if not chosen:  # no room between words (a very short video): place one anywhere
        length = int(np.clip(round(rng.uniform(min_len, max_len) * FPS), lo, min(hi, n_frames)))
        start = int(rng.integers(0, max(1, n_frames - length + 1)))
        chosen.append((start, min(start + length, n_frames)))
    return sorted(chosen)


def choose_families(kind: str, count: int, audio: Sequence[str], visual: Sequence[str], rng: np.random.Generator) -> list[str]:
    """One family per segment; ``"audio+visual"`` pairs for a both-modified video."""
    out = []
    for _ in range(count):
        a = audio[int(rng.integers(len(audio)))] if kind in ("audio", "both") else None
        v = visual[int(rng.integers(len(visual)))] if kind in ("visual", "both") else None
        out.append("+".join(f for f in (a, v) if f))
    return out


# --------------------------------------------------------------------------- audio


@dataclass
class AudioEdit:
    """A forged audio span: the new samples and the plan the mouth would follow."""

    samples: np.ndarray  # full length, only [start, stop) used
    plan: Plan


def forge_audio(
    family: str,
    plan: Plan,
    voice: Voice,
    channel: Channel,
    speech: np.ndarray,
    span: tuple[float, float],
    rng: np.random.Generator,
) -> AudioEdit:
    """The recording as the forger would have it inside ``span`` (seconds).

    ``speech`` is the clean original speech (before the channel): the re-said words are
    brought to its loudness over the span, as a forger would level them.
    """
    n_samples = speech.shape[0]
    window = (span[0] - 0.05, span[1] + 0.05)
    if family == "voice-swap":
        new_plan = replace_words(plan, rng, *span)
        other = replace(
            voice,
            f0=voice.f0 * float(rng.choice([rng.uniform(0.78, 0.9), rng.uniform(1.12, 1.3)])),
            formant_scale=voice.formant_scale * float(rng.choice([rng.uniform(0.92, 0.96), rng.uniform(1.04, 1.08)])),
            breath=float(rng.uniform(0.0, 0.04)),
            open_quotient=float(rng.uniform(0.45, 0.7)),
            bandwidth=float(rng.uniform(0.7, 1.1)),
        )
        new = _level(render_speech(new_plan, other, n_samples, rng, window=window), speech, span)
        # studio-clean: no room echo, a quieter noise floor of the same session
        return AudioEdit(new + 0.6 * noise_floor(n_samples, channel, offset=97), new_plan)
    if family == "pitch-shift":
        new_plan = replace_words(plan, rng, *span)
        shift = float(rng.choice([rng.uniform(0.78, 0.88), rng.uniform(1.14, 1.28)]))
        new = render_speech(new_plan, voice, n_samples, rng, window=window, pitch_shift=shift, flatten=0.7)
        return AudioEdit(apply_channel(_level(new, speech, span), channel), new_plan)
    if family == "splice":
        # another recording of the same speaker: other words, timing, room and noise
        donor = make_plan(rng, plan.duration, voice)
        new = render_speech(donor, voice, n_samples, rng, window=window) * float(rng.uniform(0.8, 1.25))
        return AudioEdit(apply_channel(new, make_channel(rng)), donor)
    raise ValueError(f"not an audio family: {family}")


def _level(new: np.ndarray, reference: np.ndarray, span: tuple[float, float]) -> np.ndarray:
    a, b = int(span[0] * SAMPLE_RATE), int(span[1] * SAMPLE_RATE)
    ref = float(np.sqrt(np.mean(reference[a:b] ** 2)))
    cur = float(np.sqrt(np.mean(new[a:b] ** 2)))
    if ref <= 1e-6 or cur <= 1e-6:
        return new
    return new * float(np.clip(ref / cur, 0.5, 2.0))


def splice_in(audio: np.ndarray, edit: np.ndarray, start: int, stop: int, fade: int = 96) -> None:
    """Replace ``audio[start:stop]`` by ``edit`` with short raised-cosine cross-fades."""
    n = audio.shape[0]
    a, b = max(start - fade // 2, 0), min(stop + fade // 2, n)
    weight = np.zeros(b - a)
    idx = np.arange(a, b)
    rise = np.clip((idx - (start - fade / 2)) / fade, 0, 1)
    fall = np.clip(((stop + fade / 2) - idx) / fade, 0, 1)
    weight = 0.5 - 0.5 * np.cos(np.pi * np.minimum(rise, fall))
    audio[a:b] = (1 - weight) * audio[a:b] + weight * edit[a:b]


# --------------------------------------------------------------------------- visual (post-render)


def box_blur3(region: np.ndarray) -> np.ndarray:
    """Binomial 3x3 blur over the last two (spatial) axes, edges clamped."""
    pad = [(0, 0)] * (region.ndim - 2) + [(1, 1), (1, 1)]
    p = np.pad(region, pad, mode="edge")
    rows = 0.25 * p[..., :-2, :] + 0.5 * p[..., 1:-1, :] + 0.25 * p[..., 2:, :]
    return 0.25 * rows[..., :-2] + 0.5 * rows[..., 1:-1] + 0.25 * rows[..., 2:]


def disc_mask(size: int, centres: np.ndarray, radii: tuple[float, float], feather: float) -> np.ndarray:
    """``[n, S, S]`` feathered elliptical masks at ``centres`` (row, col) with radii (rows, cols)."""
    coords = np.arange(size, dtype=np.float32)
    dr = (coords[None, :, None] - centres[:, 0, None, None].astype(np.float32)) / np.float32(radii[0])
    dc = (coords[None, None, :] - centres[:, 1, None, None].astype(np.float32)) / np.float32(radii[1])
    r = np.sqrt(dr * dr + dc * dc)
    return np.clip((1.0 - r) * np.float32(min(radii) / feather), 0.0, 1.0)


@dataclass(frozen=True)
class VisualEdit:
    """Parameters of one visual forgery, drawn once per segment."""

    family: str
    start: int
    stop: int
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    shift: tuple[int, int] = (0, 0)


def draw_visual_edit(family: str, start: int, stop: int, rng: np.random.Generator) -> VisualEdit:
    if family == "colour-shift":
        sign = rng.choice([-1.0, 1.0], 3)
        gain = 1.0 + sign * rng.uniform(0.03, 0.06, 3)
        return VisualEdit(family, start, stop, gain=(float(gain[0]), float(gain[1]), float(gain[2])))
    if family == "blend":
        shift = [(1, 0), (0, 1), (-1, 0), (0, -1), (1, 1)][int(rng.integers(5))]
        g = 1.0 + rng.uniform(-0.02, 0.02)
        return VisualEdit(family, start, stop, gain=(float(g), float(g), float(g)), shift=shift)
    return VisualEdit(family, start, stop)
