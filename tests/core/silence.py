"""Silent AAC audio for test videos (PyAV): an audio track beside, or instead of, the video."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av


def write_silence(output: Any, audio: av.AudioStream, frames: int) -> None:
    """Mux ``frames`` frames of 1,024 silent stereo samples at 48 kHz into ``audio``, then flush it."""
    for index in range(frames):
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts, frame.time_base = 48000, index * 1024, Fraction(1, 48000)
        output.mux(audio.encode(frame))
    output.mux(audio.encode(None))
