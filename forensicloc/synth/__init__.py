"""Synthetic audio-visual deepfake datasets (LAV-DF or AV-Deepfake1M layout).

Talking heads with their own face and voice say speech-like syllables; the mouth
follows the articulation that produces the sound, so authentic videos carry real
audio-visual correlation. Fakes replace a few words in LAV-DF's manner, in the audio,
the video or both, using named forgery *families* (:data:`FAMILIES`) so that a
benchmark can train on some and test on others. See :mod:`forensicloc.synth.forgery`
for what each family does and :func:`synthesize` for the dataset writer.

Modules: ``speech`` (voices, plans, synthesis), ``face`` (appearance, motion,
renderer), ``forgery`` (families), ``video`` (one video), ``dataset`` (the writer).
Only numpy and scipy are imported here; PyAV is imported when a video is written.
"""

from __future__ import annotations

from forensicloc.synth.dataset import SynthSummary, check_options, plan_dataset, synthesize
from forensicloc.synth.forgery import AUDIO_FAMILIES, FAMILIES, VISUAL_FAMILIES
from forensicloc.synth.video import RenderedVideo, VideoSpec, render_video

__all__ = [
    "AUDIO_FAMILIES",
    "FAMILIES",
    "VISUAL_FAMILIES",
    "RenderedVideo",
    "SynthSummary",
    "VideoSpec",
    "check_options",
    "plan_dataset",
    "render_video",
    "synthesize",
]
