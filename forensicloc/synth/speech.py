"""Speech-like audio: voices, syllable plans, and a small formant synthesiser.

A *plan* is what a speaker says: words made of syllables (an optional consonant
onset, then a vowel) separated by pauses, with a pitch accent per word. A *voice*
says it: a glottal pulse train at the voice's pitch, shaped by the vowel's formants
(Klatt resonators scaled by the voice's vocal-tract length), plus breath and
consonant noise. A *channel* is the recording: room echo, noise floor, tilt.

Plans are kept separate from voices so a forgery can re-say the same timing with other
words (word replacement), another voice (voice swap) or another pitch, and so the
mouth can be animated from the plan that produced the sound: the articulation
envelope drives both the audio and the lips, which is what gives authentic videos
their audio-visual correlation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import signal

SAMPLE_RATE = 16000
FPS = 25
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS

#: vowel -> (F1, F2, F3, F4 Hz, lip rounding 0..1, jaw opening 0..1, lip spreading 0..1)
VOWELS: dict[str, tuple[float, float, float, float, float, float, float]] = {
    "a": (730, 1090, 2440, 3400, 0.0, 1.00, 0.3),
    "e": (530, 1840, 2480, 3500, 0.0, 0.60, 0.7),
    "i": (290, 2250, 3000, 3700, 0.0, 0.30, 1.0),
    "o": (570, 860, 2410, 3300, 0.8, 0.70, 0.0),
    "u": (310, 870, 2240, 3300, 1.0, 0.35, 0.0),
    "@": (500, 1500, 2500, 3500, 0.2, 0.50, 0.3),
}
VOWEL_NAMES = tuple(VOWELS)
ONSETS = ("", "p", "t", "k", "s", "f", "m", "n")


@dataclass(frozen=True)
class Voice:
    """How one speaker sounds."""

    f0: float  # mean pitch, Hz
    formant_scale: float  # vocal tract length (formants scale with 1 / length)
    bandwidth: float  # formant bandwidth multiplier
    breath: float  # aspiration noise relative to voicing
    open_quotient: float  # glottal pulse open phase, 0.4..0.7
    rate: float  # speaking rate multiplier (syllables shorter when > 1)
    pitch_range: float  # accent strength


@dataclass(frozen=True)
class Channel:
    """The recording: noise floor, room echo and spectral tilt of one session."""

    noise_db: float  # noise floor RMS, dBFS
    echo_db: float  # level of the room echo tail, dB
    echo_ms: float  # echo tail decay time
    tilt: float  # one-pole low-pass mix, 0 = flat
    seed: int


@dataclass(frozen=True)
class Syllable:
    start: float  # seconds, onset consonant start
    nucleus: float  # seconds, vowel start
    end: float  # seconds
    vowel: str
    onset: str
    stress: float  # 0..1 amplitude
    accent: float  # pitch accent, relative


@dataclass(frozen=True)
class Word:
    syllables: tuple[Syllable, ...]

    @property
    def start(self) -> float:
        return self.syllables[0].start

    @property
    def end(self) -> float:
        return self.syllables[-1].end


@dataclass(frozen=True)
class Plan:
    """What is said, with timing: words in order, within ``[0, duration]``."""

    words: tuple[Word, ...]
    duration: float
    declination: float = 0.08  # pitch falls by this fraction over the utterance

    @property
    def syllables(self) -> list[Syllable]:
        return [s for w in self.words for s in w.syllables]


def make_voice(rng: np.random.Generator) -> Voice:
    female = rng.random() < 0.5
    return Voice(
        f0=float(rng.uniform(175, 245) if female else rng.uniform(95, 145)),
        formant_scale=float(rng.uniform(1.08, 1.2) if female else rng.uniform(0.9, 1.02)),
        bandwidth=float(rng.uniform(0.8, 1.3)),
        breath=float(rng.uniform(0.02, 0.12)),
        open_quotient=float(rng.uniform(0.45, 0.7)),
        rate=float(rng.uniform(0.85, 1.2)),
        pitch_range=float(rng.uniform(0.06, 0.16)),
    )


def make_channel(rng: np.random.Generator) -> Channel:
    return Channel(
        noise_db=float(rng.uniform(-56, -44)),
        echo_db=float(rng.uniform(-24, -14)),
        echo_ms=float(rng.uniform(20, 60)),
        tilt=float(rng.uniform(0.0, 0.5)),
        seed=int(rng.integers(2**31)),
    )


def make_syllable(rng: np.random.Generator, start: float, voice: Voice, stress: float, accent: float) -> Syllable:
    onset = ONSETS[int(rng.integers(len(ONSETS)))]
    onset_len = 0.0 if onset == "" else float(rng.uniform(0.03, 0.08) if onset in "sf" else rng.uniform(0.015, 0.04))
    vowel_len = float(rng.uniform(0.1, 0.24)) / voice.rate
    return Syllable(
        start=start,
        nucleus=start + onset_len,
        end=start + onset_len + vowel_len,
        vowel=VOWEL_NAMES[int(rng.integers(len(VOWEL_NAMES)))],
        onset=onset,
        stress=stress,
        accent=accent,
    )


def make_plan(rng: np.random.Generator, duration: float, voice: Voice) -> Plan:
    """Words of 1-3 syllables with pauses, filling ``duration`` (silence at both ends)."""
    words = []
    t = float(rng.uniform(0.08, 0.35))
    while True:
        n = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
        stressed = int(rng.integers(n))
        accent = float(rng.uniform(0.3, 1.0)) * voice.pitch_range
        syllables = []
        start = t
        for k in range(n):
            stress = float(rng.uniform(0.85, 1.0) if k == stressed else rng.uniform(0.5, 0.75))
            syl = make_syllable(rng, start, voice, stress, accent if k == stressed else 0.0)
            syllables.append(syl)
            start = syl.end + float(rng.uniform(0.0, 0.02))
        if syllables[-1].end > duration - 0.12:
            break
        words.append(Word(tuple(syllables)))
        pause = float(rng.uniform(0.06, 0.3)) if rng.random() < 0.85 else float(rng.uniform(0.35, 0.7))
        t = syllables[-1].end + pause
    return Plan(words=tuple(words), duration=duration, declination=float(rng.uniform(0.04, 0.12)))


def replace_words(plan: Plan, rng: np.random.Generator, start: float, end: float) -> Plan:
    """The same timing with other words in ``[start, end)``: each syllable there gets
    a new vowel and onset (a content edit that a forger would time-align)."""
    words = []
    for word in plan.words:
        if word.end <= start or word.start >= end:
            words.append(word)
            continue
        syllables = []
        for syl in word.syllables:
            vowel = VOWEL_NAMES[int(rng.integers(len(VOWEL_NAMES)))]
            onset = ONSETS[int(rng.integers(len(ONSETS)))] if syl.onset else ""
            syllables.append(replace(syl, vowel=vowel, onset=onset))
        words.append(Word(tuple(syllables)))
    return replace(plan, words=tuple(words))


# --------------------------------------------------------------------------- synthesis


def _resonator(freq: float, bandwidth: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """One Klatt resonator (unity gain at DC) as a second-order section."""
    freq = min(freq, 0.45 * sr)
    r = np.exp(-np.pi * bandwidth / sr)
    b = 2 * r * np.cos(2 * np.pi * freq / sr)
    c = -r * r
    return np.array([1 - b - c, 0.0, 0.0, 1.0, -b, -c])


def _formant_sos(vowel: str, voice: Voice) -> np.ndarray:
    f1, f2, f3, f4 = VOWELS[vowel][:4]
    widths = (70.0, 100.0, 140.0, 200.0)
    return np.stack(
        [_resonator(f * voice.formant_scale, w * voice.bandwidth) for f, w in zip((f1, f2, f3, f4), widths, strict=True)]
    )


def _envelope(n: int, attack: int, release: int) -> np.ndarray:
    env = np.ones(n, dtype=np.float64)
    attack, release = min(attack, n // 2), min(release, n // 2)
    if attack:
        env[:attack] = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, attack))
    if release:
        env[n - release :] = 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, release))
    return env


def pitch_track(plan: Plan, voice: Voice, n: int, shift: float = 1.0, flatten: float = 0.0) -> np.ndarray:
    """f0 per sample: declination, a rise-fall accent per stressed syllable, wobble.

    Computed every 5 ms and interpolated: pitch moves slowly, and the exponentials
    are the costly part.
    """
    step = SAMPLE_RATE // 200
    t = np.arange(0, n + step, step) / SAMPLE_RATE
    contour = 1.0 - plan.declination * t / max(plan.duration, 1e-6)
    for syl in plan.syllables:
        if syl.accent:
            centre = 0.5 * (syl.nucleus + syl.end)
            width = max(syl.end - syl.start, 0.05)
            contour = contour + syl.accent * np.exp(-0.5 * ((t - centre) / (0.6 * width)) ** 2)
    contour = 1.0 + (contour - 1.0) * (1.0 - flatten)
    wobble = 0.012 * np.sin(2 * np.pi * 4.7 * t + 1.3 * voice.f0) + 0.008 * np.sin(2 * np.pi * 2.1 * t)
    return voice.f0 * shift * np.interp(np.arange(n) / SAMPLE_RATE, t, contour + wobble)


def render_speech(
    plan: Plan,
    voice: Voice,
    n: int,
    rng: np.random.Generator,
    *,
    window: tuple[float, float] | None = None,
    pitch_shift: float = 1.0,
    flatten: float = 0.0,
) -> np.ndarray:
    """``n`` samples of the plan said by the voice (no channel), float64.

    ``window`` limits synthesis to syllables that overlap ``[start, end)`` seconds
    (samples outside are left silent): re-saying a short span costs only that span.
    """
    source = _glottal_source(pitch_track(plan, voice, n, pitch_shift, flatten), voice)
    voiced = np.zeros(n, dtype=np.float64)
    noise = np.zeros(n, dtype=np.float64)
    for syl in plan.syllables:
        if window is not None and (syl.end <= window[0] or syl.start >= window[1]):
            continue
        _add_syllable(voiced, noise, syl, voice, source, rng)
    # lip radiation lifts the formants above F1, as in real speech
    voiced = signal.lfilter([1.0, -0.85], [1.0], voiced)
    return voiced * voice_gain(voice) + noise


def _glottal_source(f0: np.ndarray, voice: Voice) -> np.ndarray:
    """A raised-cosine glottal pulse per pitch period, differentiated."""
    phase = np.cumsum(f0 / SAMPLE_RATE)
    frac = phase - np.floor(phase)
    oq = voice.open_quotient
    pulse = np.where(frac < oq, 0.5 - 0.5 * np.cos(2 * np.pi * np.minimum(frac / oq, 1.0)), 0.0)
    return np.diff(pulse, prepend=0.0) * (voice.f0 / 60.0)


@lru_cache(maxsize=256)
def _band(low: float, high: float) -> np.ndarray:
    return signal.butter(2, [low, min(high, 0.95 * SAMPLE_RATE / 2)], btype="band", fs=SAMPLE_RATE, output="sos")


#: onset -> (band low, band high, RMS level) of its noise
_CONSONANTS = {
    "s": (3800.0, 7600.0, 0.02),
    "f": (1800.0, 7000.0, 0.008),
    "p": (600.0, 2500.0, 0.03),
    "t": (2500.0, 6500.0, 0.03),
    "k": (1500.0, 3500.0, 0.03),
}


def _add_syllable(
    voiced: np.ndarray, noise: np.ndarray, syl: Syllable, voice: Voice, source: np.ndarray, rng: np.random.Generator
) -> None:
    n = voiced.shape[0]
    s0, s1 = int(syl.nucleus * SAMPLE_RATE), min(int(syl.end * SAMPLE_RATE), n)
    if s1 - s0 > 8:
        length = s1 - s0
        env = _envelope(length, int(0.025 * SAMPLE_RATE), int(0.05 * SAMPLE_RATE))
        jaw = VOWELS[syl.vowel][5]
        excitation = source[s0:s1] + voice.breath * rng.standard_normal(length) * 0.05
        out = signal.sosfilt(_formant_sos(syl.vowel, voice), excitation * env)
        voiced[s0:s1] += out * syl.stress * (0.55 + 0.45 * jaw)
    if not syl.onset:
        return
    c0, c1 = int(syl.start * SAMPLE_RATE), min(int(syl.nucleus * SAMPLE_RATE) + 40, n)
    if c1 - c0 <= 8:
        return
    if syl.onset in "mn":  # nasal murmur: voicing through a low, damped resonance
        murmur = signal.sosfilt(_resonator(260.0 * voice.formant_scale, 120.0)[None], source[c0:c1])
        voiced[c0:c1] += murmur * _envelope(c1 - c0, 60, 60) * 0.4
        return
    low, high, level = _CONSONANTS[syl.onset]
    scale = voice.formant_scale
    hiss = signal.sosfilt(_band(round(low * scale, -2), round(high * scale, -2)), rng.standard_normal(c1 - c0))
    if syl.onset in "sf":
        env = _envelope(c1 - c0, 80, 160)
    else:  # a plosive: a short burst that decays into aspiration
        env = np.exp(-np.arange(c1 - c0) / (0.008 * SAMPLE_RATE))
    noise[c0:c1] += hiss * env * (level * syl.stress / max(float(np.std(hiss)), 1e-9))


@lru_cache(maxsize=4096)
def voice_gain(voice: Voice) -> float:
    """Scale that brings a stressed open vowel of this voice to a fixed loudness, so
    that spans re-synthesised separately match the level of the rest."""
    n = int(0.3 * SAMPLE_RATE)
    source = _glottal_source(np.full(n, voice.f0), voice)
    ref = signal.lfilter([1.0, -0.85], [1.0], signal.sosfilt(_formant_sos("a", voice), source))[n // 3 :]
    return 0.1 / max(float(np.sqrt(np.mean(ref**2))), 1e-9)


def apply_channel(speech: np.ndarray, channel: Channel, *, noise_scale: float = 1.0) -> np.ndarray:
    """The recording of ``speech`` in this session's room, with its noise floor."""
    rng = np.random.default_rng(channel.seed)
    n = speech.shape[0]
    taps = int(channel.echo_ms * 1e-3 * SAMPLE_RATE * 3)
    ir = rng.standard_normal(taps) * np.exp(-np.arange(taps) / (channel.echo_ms * 1e-3 * SAMPLE_RATE))
    ir *= 10 ** (channel.echo_db / 20) / max(float(np.sqrt(np.sum(ir**2))), 1e-9)
    ir[0] += 1.0
    wet = signal.fftconvolve(speech, ir)[:n]
    if channel.tilt:
        wet = (1 - channel.tilt) * wet + channel.tilt * signal.lfilter([0.3], [1, -0.7], wet)
    return wet + noise_scale * noise_floor(n, channel)


def noise_floor(n: int, channel: Channel, offset: int = 0) -> np.ndarray:
    """The session's background noise (slightly coloured), ``n`` samples."""
    rng = np.random.default_rng([channel.seed, 1])
    white = rng.standard_normal(n + offset)[offset:]
    coloured = signal.lfilter([1.0], [1.0, -0.6], white)
    coloured /= max(float(np.std(coloured)), 1e-9)
    return coloured * 10 ** (channel.noise_db / 20)


# --------------------------------------------------------------------------- articulation


def articulation(plan: Plan, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per video frame: jaw opening (0..1) and mouth width factor (~0.8..1.15).

    Derived from the plan, like the sound: opening follows each syllable's loudness
    envelope times its vowel's jaw opening; width follows rounding (narrow) and
    spreading (wide). Smoothed, since lips move continuously.
    """
    t = (np.arange(n_frames) + 0.5) / FPS
    opening = np.zeros(n_frames)
    width = np.zeros(n_frames)
    for syl in plan.syllables:
        _, _, _, _, rounding, jaw, spread = VOWELS[syl.vowel]
        inside = (t >= syl.nucleus - 0.02) & (t < syl.end)
        if not inside.any():
            continue
        rel = (t[inside] - syl.nucleus) / max(syl.end - syl.nucleus, 1e-3)
        shape = np.clip(np.minimum(rel / 0.2 + 0.3, (1 - rel) / 0.35), 0, 1)
        opening[inside] = np.maximum(opening[inside], shape * syl.stress * (0.25 + 0.75 * jaw))
        width[inside] = 0.14 * spread - 0.22 * rounding
    kernel = np.array([0.2, 0.6, 0.2])
    opening = np.convolve(np.pad(opening, 1, mode="edge"), kernel, mode="valid")
    width = 1.0 + np.convolve(np.pad(width, 1, mode="edge"), kernel, mode="valid")
    return opening, width
