"""Answering-machine detection: a pure classifier of a call's received audio (see detector)."""

from outbound.amd.detector import Cause, Decision, Detector, Verdict, classify_pcm
from outbound.amd.params import AmdParams

__all__ = ["AmdParams", "Cause", "Decision", "Detector", "Verdict", "classify_pcm"]
