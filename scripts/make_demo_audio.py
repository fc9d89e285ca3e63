"""Regenerate examples/demo/audio/*.wav: espeak-ng (en-us) speech, 16 kHz mono 16-bit, 0.25 s of silence before and
0.5 s after. These are the recordings `make demo` and `hark listen --wav` examples use; they come from no data set.

    python scripts/make_demo_audio.py
"""
from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from hark.audio import read_wav

OUT = Path(__file__).resolve().parent.parent / "examples" / "demo" / "audio"
COMMANDS = ["turn off the kitchen lights", "set a timer for ten minutes", "play the matrix"]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for text in COMMANDS:
            raw = Path(tmp) / "espeak.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), text], check=True, capture_output=True)
            x = np.concatenate([np.zeros(4000, np.int16), read_wav(raw), np.zeros(8000, np.int16)])
            path = OUT / (text.replace(" ", "_") + ".wav")
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(16000)
                w.writeframes(x.astype("<i2").tobytes())
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
