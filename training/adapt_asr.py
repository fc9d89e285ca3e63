"""MAP-adapt pocketsphinx's en-us acoustic model to a voice, and write a model folder for ``asr_pocketsphinx.hmm``.

Your own voice (the useful case: record 50-200 of your commands, one WAV per command with the words in a
same-named .txt file):

    python -m training.adapt_asr --recordings my_voice/ --out models/my-voice
    # then in config.yaml:  plugins: {asr_pocketsphinx: {hmm: models/my-voice}}

Synthetic speech (how the shipped ``plugins/asr_pocketsphinx/models/en-us-synthetic`` was built; espeak-ng
speaking sentences generated from the bundled skills' templates, never their held-out tests, with voices that
neither the tests nor benchmarks/audio.py use):

    python -m training.adapt_asr --espeak en-us+m4,en-us+f1,en-gb+m3,en-gb+m2,en-us+m6,en-us+f3,en-gb+m4,en-gb+f1 \\
        --per-voice 100 --out plugins/asr_pocketsphinx/models/en-us-synthetic

Needs sphinxtrain (``make system-deps`` installs it); takes about a minute for 800 sentences.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SR = 16000


def _noise_floor(x: np.ndarray, seed: int, dbfs: float = -50.0) -> np.ndarray:
    """The same faint floor the plugin adds before decoding, so the model adapts to what it will hear."""
    return x + np.random.default_rng(seed).normal(0.0, 10 ** (dbfs / 20), len(x))


def _to_pcm(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 32768, -32768, 32767).astype(np.int16)


def adaptation_sentences(skills, seed: int, pronunciations: dict[str, str]) -> list[list[str]]:
    """Spoken-form template sentences to adapt on: never a held-out sentence (the skills' tests, which the audio
    benchmark speaks, the non-request and out-of-scope sets), in written or spoken form."""
    from hark.plugins.asr_pocketsphinx.compile import speakable
    from hark.sentences import sample_sentences

    try:
        from .skill_data import heldout_sentences
    except ImportError:  # pragma: no cover - run as a script
        from skill_data import heldout_sentences  # type: ignore
    held = heldout_sentences(skills)
    held |= {" ".join(speakable(h.split())) for h in held}
    out = []
    for sample in sample_sentences(skills, 60, seed=seed, filler_rate=0.0):
        spoken = speakable(sample.words)
        if spoken and " ".join(sample.words) not in held and " ".join(spoken) not in held \
                and all(w in pronunciations for w in spoken):
            out.append(spoken)
    return out


def espeak_recordings(voices: list[str], per_voice: int, pronunciations: dict[str, str], seed: int):
    """espeak-ng speech of skill sentences (generated from the templates, never the held-out tests)."""
    from hark import Engine, load_config
    from hark.audio import read_wav
    from .acoustic_adaptation import Recording

    engine = Engine(load_config(ROOT / "config.yaml", env={}))
    sentences = adaptation_sentences(engine.skills, seed, pronunciations)
    rng = random.Random(seed)
    rng.shuffle(sentences)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "tts.wav"
        k = 0
        for voice in voices:
            for _ in range(per_voice):
                words = sentences[k % len(sentences)]
                k += 1
                subprocess.run(["espeak-ng", "-v", voice, "-s", str(rng.randint(150, 185)), "-w", str(wav),
                                " ".join(words)], check=True, capture_output=True)
                x = read_wav(wav).astype(np.float64) / 32768.0
                pad = np.zeros(int(0.3 * SR))
                yield Recording(_to_pcm(_noise_floor(np.concatenate([pad, x, pad]), k)), tuple(words))
                if k % 50 == 0:
                    print(f"  synthesised {k}/{len(voices) * per_voice}", file=sys.stderr)


def folder_recordings(folder: Path, pronunciations: dict[str, str]):
    """WAV files with a same-named .txt transcript each (any rate/channels: resampled to 16 kHz mono)."""
    from hark.audio import read_wav
    from .acoustic_adaptation import Recording
    from hark.plugins.asr_pocketsphinx.compile import speakable
    from hark.text import tokenize

    wavs = sorted(folder.glob("*.wav"))
    if not wavs:
        raise SystemExit(f"error: no .wav files in {folder}")
    for k, path in enumerate(wavs):
        txt = path.with_suffix(".txt")
        if not txt.exists():
            raise SystemExit(f"error: {path.name} has no transcript {txt.name}")
        words = speakable(t.text for t in tokenize(txt.read_text(encoding="utf-8")))
        missing = [w for w in words if w not in pronunciations]
        if missing:
            raise SystemExit(f"error: {txt.name}: no pronunciation for {', '.join(missing)} "
                             "(add them to a dictionary with --dictionary)")
        x = read_wav(path).astype(np.float64) / 32768.0
        yield Recording(_to_pcm(_noise_floor(x, k)), tuple(words))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--recordings", type=Path, metavar="DIR", help="folder of WAV + .txt transcripts")
    src.add_argument("--espeak", metavar="VOICES", help="comma-separated espeak-ng voices to synthesise")
    ap.add_argument("--per-voice", type=int, default=100, help="sentences per espeak-ng voice")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--dictionary", type=Path, help="pronunciations (default: pocketsphinx's cmudict-en-us)")
    ap.add_argument("--out", type=Path, required=True, help="model folder to write")
    args = ap.parse_args(argv)

    import pocketsphinx

    from .acoustic_adaptation import SphinxtrainMissing, adapt_model, sphinxtrain_dir

    try:
        sphinxtrain_dir()
    except SphinxtrainMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    base = Path(pocketsphinx.get_model_path()) / "en-us"
    pronunciations: dict[str, str] = {}
    for dic in (args.dictionary, base / "cmudict-en-us.dict"):
        if dic is None:
            continue
        for line in dic.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) >= 2:
                pronunciations.setdefault(parts[0].split("(", 1)[0], " ".join(parts[1:]))
    if args.recordings:
        recordings = folder_recordings(args.recordings, pronunciations)
        source = f"recordings in {args.recordings}"
    else:
        voices = [v.strip() for v in args.espeak.split(",") if v.strip()]
        recordings = espeak_recordings(voices, args.per_voice, pronunciations, args.seed)
        source = f"espeak-ng voices {', '.join(voices)}, {args.per_voice} skill-template sentences each"
    start = time.time()
    with tempfile.TemporaryDirectory() as work:
        stats = adapt_model(recordings, base / "en-us", args.out, pronunciations, Path(work))
    stats.update(source=source, seconds_to_build=round(time.time() - start, 1),
                 command="python -m training.adapt_asr " + " ".join(argv if argv is not None else sys.argv[1:]))
    (args.out / "adaptation.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats, indent=2))
    print(f"wrote {args.out}; use it with  plugins: {{asr_pocketsphinx: {{hmm: {args.out}}}}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
