"""Blur synthesis from sharp footage and photographs (GOPRO-style averaging in linear light)."""

from vdeblur.synth.config import SynthConfig
from vdeblur.synth.pipeline import synthesize

__all__ = ["SynthConfig", "synthesize"]
