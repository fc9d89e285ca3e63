"""Acoustic-model adaptation: MAP-adapt pocketsphinx's en-us model to a voice from a few minutes of speech.

The en-us model was trained on real recordings; a voice far from them (a strong accent, a cheap microphone,
synthetic speech) is where most of the recogniser's errors come from. MAP adaptation moves the model's Gaussians
toward the new speech in proportion to how much of it each one saw, so a few hundred sentences help and cannot
hurt much. It runs sphinxtrain's ``bw`` (Baum-Welch statistics) and ``map_adapt`` (Debian package
``sphinxtrain``); nothing here runs at recognition time: the result is an ordinary model folder for the
``asr_pocketsphinx.hmm`` setting.

The package's model ships its mixture weights only as an 8-bit ``sendump``; sphinxtrain needs them as floats,
so they are rebuilt from it first (exactly: pocketsphinx decodes identically with either file).
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["Recording", "SphinxtrainMissing", "adapt_model", "mixture_weights_from_sendump", "sphinxtrain_dir"]

_TOOLS = ("bw", "map_adapt", "mk_s2sendump")
_SEARCH = (Path("/usr/lib/sphinxtrain"), Path("/usr/local/lib/sphinxtrain"), Path("/usr/libexec/sphinxtrain"))
#: the en-us model's feature layout (its feat.params: 1s_c_d_dd, three 13-dim streams)
_SVSPEC = "0-12/13-25/26-38"
_HOW = "apt-get install sphinxtrain sphinxbase-utils pocketsphinx (or run `make system-deps`)"


class SphinxtrainMissing(RuntimeError):
    """sphinxtrain's tools (or sphinx_fe / pocketsphinx_mdef_convert) are not installed."""


@dataclass(frozen=True)
class Recording:
    """One adaptation utterance: 16 kHz mono int16 samples and the words spoken (lower case, dictionary words)."""

    pcm: np.ndarray
    words: tuple[str, ...]


def sphinxtrain_dir() -> Path:
    """The folder holding ``bw`` and ``map_adapt``, or SphinxtrainMissing saying how to get them."""
    for d in _SEARCH:
        if all((d / t).exists() for t in _TOOLS):
            for tool in ("sphinx_fe", "pocketsphinx_mdef_convert"):
                if shutil.which(tool) is None:
                    raise SphinxtrainMissing(f"{tool} is not on PATH: {_HOW}")
            return d
    raise SphinxtrainMissing(f"sphinxtrain's bw/map_adapt were not found in {', '.join(map(str, _SEARCH))}: {_HOW}")


def _read_sendump(path: Path) -> np.ndarray:
    """The 8-bit quantised -log mixture weights of a sendump, as [feature][density][senone] bytes."""
    data = path.read_bytes()
    try:
        return _parse_sendump(data)
    except (struct.error, ValueError) as exc:
        raise ValueError(f"{path} is not a usable pocketsphinx sendump: {exc}") from None


def _parse_sendump(data: bytes) -> np.ndarray:
    off = 0

    def next_int() -> int:
        nonlocal off
        (value,) = struct.unpack_from("<i", data, off)
        off += 4
        return value

    for what in ("title", "description"):
        n = next_int()
        if not 1 <= n <= 999:
            raise ValueError(f"{what} length {n} out of range")
        off += n
    counts = {"feature_count": 0, "mixture_count": 0, "model_count": 0, "cluster_count": 0, "cluster_bits": 8}
    while True:
        n = next_int()
        if n == 0:
            break
        key, _, value = data[off:off + n].rstrip(b"\0").decode("ascii", "replace").partition(" ")
        off += n
        if key in counts:
            counts[key] = int(value)
    if counts["cluster_count"] or counts["cluster_bits"] != 8:
        raise ValueError(f"clustered or 4-bit weights are not supported ({counts})")
    rows, cols = next_int(), next_int()  # densities, senones
    if rows <= 0 or cols <= 0:
        raise ValueError(f"bad dimensions {rows} x {cols}")
    n_feat = counts["feature_count"] or (len(data) - off) // (rows * cols)
    if n_feat <= 0 or off + n_feat * rows * cols > len(data):
        raise ValueError("truncated")
    return np.frombuffer(data, np.uint8, count=n_feat * rows * cols, offset=off).reshape(n_feat, rows, cols)


def mixture_weights_from_sendump(sendump: Path, out: Path, log_base: float = 1.0001, shift: int = 10) -> tuple:
    """Write sphinxtrain's float ``mixture_weights`` (s3 format) rebuilt from pocketsphinx's ``sendump``.

    A sendump byte q stands for the weight log_base ** -(q << shift) (pocketsphinx's 8-bit log table).
    """
    q = _read_sendump(sendump).astype(np.float64)
    weights = np.exp(-(q * (1 << shift)) * np.log(log_base)).transpose(2, 0, 1)  # -> [senone][feature][density]
    weights /= weights.sum(-1, keepdims=True)
    weights = weights.astype(np.float32)
    with open(out, "wb") as f:
        f.write(b"s3\nversion 1.0\nendhdr\n")
        f.write(struct.pack("<I", 0x11223344))  # byte-order mark
        f.write(struct.pack("<4i", *weights.shape, weights.size))
        f.write(weights.tobytes())
    return weights.shape


def _run(cmd: Sequence[str]) -> str:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{Path(cmd[0]).name} failed (exit {result.returncode}):\n{tail}")
    return result.stderr


def _write_wav(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes(np.asarray(pcm, dtype=np.int16).tobytes())


def adapt_model(recordings: Iterable[Recording], base: Path, out: Path, pronunciations: dict[str, str],
                work: Path) -> dict:
    """MAP-adapt the model folder ``base`` to ``recordings``; write a pocketsphinx model folder to ``out``.

    ``pronunciations`` maps each spoken word to its phones; a recording with a word missing from it raises
    ValueError naming the word (bw would silently skip the utterance). Returns counts for a model card.
    """
    tools = sphinxtrain_dir()
    work.mkdir(parents=True, exist_ok=True)
    base_copy = work / "base"
    base_copy.mkdir(exist_ok=True)
    for name in ("mdef", "means", "variances", "transition_matrices", "noisedict", "feat.params"):
        shutil.copyfile(base / name, base_copy / name)
    _run(["pocketsphinx_mdef_convert", "-text", base / "mdef", base_copy / "mdef.txt"])
    if (base / "mixture_weights").exists():
        shutil.copyfile(base / "mixture_weights", base_copy / "mixture_weights")
    else:
        mixture_weights_from_sendump(base / "sendump", base_copy / "mixture_weights")

    audio = work / "audio"
    audio.mkdir(exist_ok=True)
    ids, lines, used, seconds = [], [], set(), 0.0
    for i, rec in enumerate(recordings):
        missing = [w for w in rec.words if w not in pronunciations]
        if missing:
            raise ValueError(f"recording {i}: no pronunciation for {', '.join(sorted(set(missing)))}")
        name = f"utt{i:05d}"
        _write_wav(audio / f"{name}.wav", rec.pcm)
        ids.append(name)
        lines.append(f"<s> {' '.join(rec.words)} </s> ({name})")
        used.update(rec.words)
        seconds += len(rec.pcm) / 16000
    if not ids:
        raise ValueError("no recordings to adapt to")
    (work / "adapt.fileids").write_text("\n".join(ids) + "\n")
    (work / "adapt.transcription").write_text("\n".join(lines) + "\n")
    (work / "adapt.dic").write_text("".join(f"{w} {pronunciations[w]}\n" for w in sorted(used)))

    _run(["sphinx_fe", "-argfile", base / "feat.params", "-samprate", "16000", "-c", work / "adapt.fileids",
          "-di", audio, "-do", audio, "-ei", "wav", "-eo", "mfc", "-mswav", "yes"])
    accum = work / "accum"
    accum.mkdir(exist_ok=True)
    model = ["-moddeffn", base_copy / "mdef.txt", "-ts2cbfn", ".ptm."]
    _run([tools / "bw", "-hmmdir", base_copy, *model, "-feat", "1s_c_d_dd", "-svspec", _SVSPEC,
          "-cmn", "current", "-agc", "none", "-dictfn", work / "adapt.dic", "-fdictfn", base / "noisedict",
          "-ctlfn", work / "adapt.fileids", "-lsnfn", work / "adapt.transcription", "-cepdir", audio,
          "-accumdir", accum, "-mixwfn", base_copy / "mixture_weights"])

    out.mkdir(parents=True, exist_ok=True)
    for name in ("mdef", "noisedict", "feat.params"):
        shutil.copyfile(base / name, out / name)
    _run([tools / "map_adapt", *model, "-meanfn", base_copy / "means", "-varfn", base_copy / "variances",
          "-mixwfn", base_copy / "mixture_weights", "-tmatfn", base_copy / "transition_matrices",
          "-accumdir", accum, "-mapmeanfn", out / "means", "-mapvarfn", out / "variances",
          "-mapmixwfn", work / "mixture_weights", "-maptmatfn", out / "transition_matrices"])
    # pocketsphinx reads the 8-bit sendump (2 MB) as well as the float weights (8 MB): ship the small one
    _run([tools / "mk_s2sendump", "-pocketsphinx", "yes", "-moddeffn", base_copy / "mdef.txt",
          "-mixwfn", work / "mixture_weights", "-sendumpfn", out / "sendump"])
    return {"utterances": len(ids), "seconds": round(seconds, 1), "words": len(used)}
