"""VAD benchmark: frame-level precision/recall/F1 and endpoint timing of the ``vad`` plugin's detectors in noise.

    python benchmarks/vad.py                 # test split -> benchmarks/results/vad.json
    python benchmarks/vad.py --split dev     # the split the detector parameters were tuned on (not written)

Speech: sentences spoken by espeak-ng (voices of the split; test voices never used for tuning), 3 utterances per
stream with 1.0-2.5 s pauses, at random levels (-32..-20 dBFS active speech). Noise, mixed at 20/10/5/0 dB SNR
(active-speech power over mean noise power): ESC-50 environmental clips (test: fold 4; dev: folds 2/3/5), white,
pink, and babble (6 overlapping espeak-ng talkers saying other sentences). Also "clean" (digital silence between
utterances).

Ground truth comes from the clean speech: a 30 ms frame is speech when its energy is within 40 dB of the loudest
frame of its utterance (and above -70 dBFS). Reported per detector and condition:

- ``frame``: the detector's own frame decisions (probability >= threshold) against those labels;
- ``segment``: frames inside the endpointer's utterances against the true utterance spans (first to last speech
  frame), i.e. what a user of speech_start/speech_end gets;
- ``utterances``: true, found (overlapped by a detected utterance), missed, false alarms (detected utterances that
  overlap no speech), split and merged;
- ``start_error_ms`` / ``end_error_ms``: detected minus true boundary for found utterances (mean signed, median
  and p90 of the absolute error);
- ``us_per_frame``: front end + detector + endpointer time per 30 ms frame on this machine (one thread);
- ``cpu_ms_per_audio_s``: CPU time (``time.process_time``, one thread, best of 3) per second of audio on one fixed
  signal, the split's first 60 s of speech streams in pink noise at 10 dB SNR: ``front_end`` (hark.features, which
  the runtime computes once per stream for every audio plugin), ``detector`` (given those rows) and ``total``.
  The load average is recorded beside it (``cpu_measurement``): the machine is shared.

Every detector is called as the plugin calls it: ``detector(frame, mel=rows)``, with the rows of a
``hark.features.FrontEnd`` fed the stream 30 ms at a time, as the runtime does.

Every detector runs under the plugin's default policy (VadSettings), so the numbers differ only by detector.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread: CPU time is comparable
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench import stamp  # noqa: E402
from hark.audio import read_wav  # noqa: E402
from hark.config import data_dir  # noqa: E402
from hark.features import FrontEnd  # noqa: E402
from hark.plugins.vad.config import VadSettings  # noqa: E402
from hark.plugins.vad.endpointer import Endpointer  # noqa: E402
from hark.plugins.vad.model import make_detector  # noqa: E402

SR = 16000
FRAME = 480
FRAME_S = FRAME / SR

SENTENCES = [
    "turn off the kitchen lights", "set a timer for ten minutes", "what's the weather like tomorrow morning",
    "play something by the beatles", "pause the music", "wake me up at seven thirty",
    "dim the living room lights to forty percent", "skip this song", "read the next chapter of my book",
    "is it going to rain this afternoon", "cancel my timer", "turn the volume up a little",
    "open the garage door please", "play the latest episode", "how long is left on the pasta timer",
    "set the thermostat to twenty one degrees", "stop", "what time is it", "close the blinds in the bedroom",
    "remind me in an hour and a half", "play jazz in the kitchen", "switch on the fan",
    "resume the audiobook from where I stopped", "lower the heating by two degrees",
]
BABBLE_SENTENCES = [
    "the quick brown fox jumps over the lazy dog", "she sells sea shells by the sea shore",
    "we will meet again next tuesday at noon", "the committee approved the budget for next year",
    "bring the blue folder to the second floor", "the train was delayed by twenty minutes",
    "he planted tomatoes and beans in the garden", "our flight leaves early in the morning",
]
VOICES = {
    "dev": ["en-us", "en-gb+f3"],
    "test": ["en-us+m3", "en-gb-x-rp+f2", "en-gb-scotland", "en-029+m7", "en-us+f4", "en-us-nyc+m1"],
}
BABBLE_VOICES = ["en-us+m5", "en-gb+f1", "en-us+f2", "en-gb-x-gbclan", "en-us+m2", "en-gb+m4"]
SNRS = [20, 10, 5, 0]
NOISES = ["esc50", "white", "pink", "babble"]


# --------------------------------------------------------------------------------------------- audio helpers


def speak(text: str, voice: str, speed: int, tmp: Path) -> np.ndarray:
    out = tmp / "tts.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text], check=True,
                   capture_output=True)
    x = read_wav(out).astype(np.float64) / 32768.0  # 22.05 kHz -> 16 kHz through hark's own resampler
    return x


def frame_db(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME
    f = x[: n * FRAME].reshape(n, FRAME)
    return 10 * np.log10(np.mean(f * f, axis=1) + 1e-14)


def load_flac(path: Path) -> tuple[np.ndarray, str]:
    """A FLAC clip as float samples: soundfile if installed, else ffmpeg/sox, else the system libsndfile."""
    try:
        import soundfile

        x, sr = soundfile.read(str(path), dtype="float64")
        assert sr == SR
        return x, "soundfile"
    except ImportError:
        pass
    for tool, cmd in (("ffmpeg", ["ffmpeg", "-v", "quiet", "-i", str(path), "-f", "s16le", "-ac", "1", "-"]),
                      ("sox", ["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-"])):
        if shutil.which(tool):
            raw = subprocess.run(cmd, check=True, capture_output=True).stdout
            return np.frombuffer(raw, dtype="<i2") / 32768.0, tool
    return _libsndfile_read(path), "libsndfile (ctypes)"


class _SFInfo(ctypes.Structure):
    _fields_ = [("frames", ctypes.c_int64), ("samplerate", ctypes.c_int), ("channels", ctypes.c_int),
                ("format", ctypes.c_int), ("sections", ctypes.c_int), ("seekable", ctypes.c_int)]


_SNDFILE = None


def _libsndfile_read(path: Path) -> np.ndarray:
    global _SNDFILE
    if _SNDFILE is None:
        name = ctypes.util.find_library("sndfile") or "libsndfile.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            raise RuntimeError("no FLAC decoder: install soundfile, ffmpeg or sox") from None
        lib.sf_open.restype = ctypes.c_void_p
        lib.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_SFInfo)]
        lib.sf_readf_short.restype = ctypes.c_int64
        lib.sf_readf_short.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_short), ctypes.c_int64]
        lib.sf_close.argtypes = [ctypes.c_void_p]
        _SNDFILE = lib
    info = _SFInfo()
    handle = _SNDFILE.sf_open(str(path).encode(), 0x10, ctypes.byref(info))  # SFM_READ
    if not handle:
        raise RuntimeError(f"libsndfile cannot open {path}")
    try:
        buf = np.zeros(info.frames * info.channels, dtype=np.int16)
        got = _SNDFILE.sf_readf_short(handle, buf.ctypes.data_as(ctypes.POINTER(ctypes.c_short)), info.frames)
    finally:
        _SNDFILE.sf_close(handle)
    if info.samplerate != SR:
        raise RuntimeError(f"{path}: expected {SR} Hz, got {info.samplerate}")
    x = buf[: got * info.channels].reshape(-1, info.channels).mean(axis=1)
    return x / 32768.0


def esc50_clips(split: str) -> tuple[list[tuple[str, np.ndarray]], str]:
    folder = data_dir() / "esc50"
    meta = folder / "meta" / "esc50_subset.csv"
    if not meta.is_file():
        return [], f"ESC-50 not found at {folder} (skipped)"
    folds = {"test": {"4"}, "dev": {"2", "3", "5"}}[split]
    clips, decoder = [], ""
    for line in meta.read_text().splitlines()[1:]:
        filename, fold, _, category = line.split(",")[:4]
        if fold not in folds:
            continue
        try:
            x, decoder = load_flac(folder / "audio_16k" / filename.replace(".wav", ".flac"))
        except RuntimeError as exc:  # no decoder on this machine: synthetic noise only
            return [], f"ESC-50 skipped: {exc}"
        if np.sqrt(np.mean(x * x)) > 1e-4:
            clips.append((category, x))
    return clips, f"{len(clips)} clips of folds {sorted(folds)}, decoded with {decoder}"


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    return x / np.std(x)


# ---------------------------------------------------------------------------------------------------- streams


class Stream:
    def __init__(self, speech: np.ndarray, labels: np.ndarray, spans: list[tuple[float, float]]):
        self.speech, self.labels, self.spans = speech, labels, spans


def build_streams(split: str, tmp: Path, per_voice: int, rng: random.Random) -> list[Stream]:
    streams = []
    for voice in VOICES[split]:
        sentences = SENTENCES[:]
        rng.shuffle(sentences)
        for s in range(per_voice):
            parts: list[np.ndarray] = [np.zeros(int(rng.uniform(0.3, 2.0) * SR))]
            utt_ranges = []
            for u in range(3):
                text = sentences[(3 * s + u) % len(sentences)]
                x = speak(text, voice, rng.randint(140, 190), tmp)
                db = frame_db(x)
                active = db > max(db.max() - 40, -70)
                level = 10 * np.log10(np.mean(x[: len(active) * FRAME].reshape(-1, FRAME)[active] ** 2))
                x = x * 10 ** ((rng.uniform(-32, -20) - level) / 20)
                # align utterances to the frame grid so labels are exact
                start = sum(len(p) for p in parts)
                pad = (-start) % FRAME
                parts.append(np.zeros(pad))
                utt_ranges.append((start + pad, len(x)))
                parts.append(x)
                parts.append(np.zeros(int(rng.uniform(1.0, 2.5) * SR)))
            speech = np.concatenate(parts + [np.zeros(int(1.5 * SR))])
            n_frames = len(speech) // FRAME
            labels = np.zeros(n_frames, dtype=bool)
            spans = []
            for start, length in utt_ranges:
                f0 = start // FRAME
                seg = speech[start: start + length]
                db = frame_db(seg)
                act = db > max(db.max() - 40, -70)
                idx = np.nonzero(act)[0]
                labels[f0: f0 + len(act)] |= act
                spans.append((float((f0 + idx[0]) * FRAME_S), float((f0 + idx[-1] + 1) * FRAME_S)))
            streams.append(Stream(speech, labels, spans))
    return streams


def make_noise(kind: str, n: int, rng: np.random.Generator, esc: list, babble_pool: list[np.ndarray]) -> np.ndarray:
    if kind == "white":
        return rng.standard_normal(n)
    if kind == "pink":
        return pink(n, rng)
    if kind == "babble":
        out = np.zeros(n)
        for _ in range(6):
            track = np.concatenate([babble_pool[i] for i in rng.permutation(len(babble_pool))])
            while len(track) < n + SR:
                track = np.concatenate([track, track])
            off = rng.integers(0, SR)
            t = track[off: off + n]
            out += t / (np.std(t) + 1e-12)
        return out
    pieces, total = [], 0
    while total < n:
        _, clip = esc[rng.integers(len(esc))]
        pieces.append(clip)
        total += len(clip)
    return np.concatenate(pieces)[:n]


def mix(stream: Stream, noise: np.ndarray | None, snr: float | None) -> np.ndarray:
    x = stream.speech
    if noise is None:
        return x
    act = np.repeat(stream.labels, FRAME)
    p_speech = np.mean(x[: len(act)][act] ** 2)
    p_noise = np.mean(noise ** 2)
    return x + noise * np.sqrt(p_speech / (p_noise * 10 ** (snr / 10)))


# --------------------------------------------------------------------------------------------------- scoring


def run_detector(name: str, options: dict, signal: np.ndarray, settings: VadSettings):
    det = make_detector(name, SR, 30, **options)
    front = FrontEnd(SR)  # the runtime's per-stream front end
    ep = Endpointer(settings, 30, SR)
    pcm = np.clip(np.round(signal * 32768), -32768, 32767).astype("<i2")
    n = len(pcm) // FRAME
    probs = np.zeros(n)
    segments = []
    t0 = time.perf_counter()
    for i in range(n):
        frame = pcm[i * FRAME:(i + 1) * FRAME]
        p = det(frame, mel=front.push(frame).log_mel)
        probs[i] = p
        for b in ep.push(frame.tobytes(), p, i * FRAME_S):
            if b.kind == "speech_end":
                segments.append((b.data["start"], b.data["end"]))
    for b in ep.finish():
        segments.append((b.data["start"], b.data["end"]))
    elapsed = time.perf_counter() - t0
    return probs, segments, elapsed / max(n, 1)


def cpu_signal(streams: list[Stream], seconds: float = 60.0) -> np.ndarray:
    """The fixed signal of the CPU measurement: the first ``seconds`` of the split's streams in pink noise at 10 dB."""
    n = int(seconds * SR)
    take, total = [], 0
    for s in streams:
        take.append(s)
        total += len(s.speech)
        if total >= n:
            break
    joined = Stream(np.concatenate([s.speech for s in take]), np.concatenate([s.labels for s in take]), [])
    noise = pink(len(joined.speech), np.random.default_rng(60))
    return mix(joined, noise, 10)[:n]


def cpu_cost(kind: str, options: dict, signal: np.ndarray, repeats: int = 3) -> dict:
    """CPU ms per second of audio over ``signal`` (best of ``repeats`` each; one thread): the front end alone, the
    detector alone given the rows, and ``total``, both frame by frame as the runtime runs them (more than the sum:
    each loses the other's warm caches)."""
    pcm = np.clip(np.round(signal * 32768), -32768, 32767).astype("<i2")
    frames = [pcm[i * FRAME:(i + 1) * FRAME] for i in range(len(pcm) // FRAME)]
    audio_s = len(frames) * FRAME_S
    best = {"front_end": float("inf"), "detector": float("inf"), "total": float("inf")}

    def clock(key: str, run) -> None:
        t0 = time.process_time()
        run()
        best[key] = min(best[key], time.process_time() - t0)

    for _ in range(repeats):
        front = FrontEnd(SR)
        rows: list = []
        clock("front_end", lambda: rows.extend(front.push(frame).log_mel for frame in frames))
        det = make_detector(kind, SR, 30, **options)
        clock("detector", lambda: [det(frame, mel=mel) for frame, mel in zip(frames, rows)])
        front, det = FrontEnd(SR), make_detector(kind, SR, 30, **options)
        clock("total", lambda: [det(frame, mel=front.push(frame).log_mel) for frame in frames])
    return {k: round(1000 * v / audio_s, 2) for k, v in best.items()}


def prf(pred: np.ndarray, truth: np.ndarray) -> dict:
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


def seg_mask(segments: list[tuple[float, float]], n: int) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    for a, b in segments:
        m[int(round(a / FRAME_S)): int(round(b / FRAME_S))] = True
    return m


class Tally:
    def __init__(self):
        self.frame_pred, self.frame_truth, self.seg_pred, self.seg_truth = [], [], [], []
        self.true = self.found = self.missed = self.false = self.split = self.merged = 0
        self.start_err, self.end_err, self.cost = [], [], []

    def add(self, stream: Stream, probs: np.ndarray, segments: list, cost: float, threshold: float) -> None:
        n = min(len(probs), len(stream.labels))
        self.frame_pred.append(probs[:n] >= threshold)
        self.frame_truth.append(stream.labels[:n])
        self.seg_pred.append(seg_mask(segments, n))
        self.seg_truth.append(seg_mask(stream.spans, n))
        self.cost.append(cost)
        overlaps = lambda a, b: a[0] < b[1] and b[0] < a[1]  # noqa: E731
        for span in stream.spans:
            self.true += 1
            hits = [s for s in segments if overlaps(s, span)]
            if not hits:
                self.missed += 1
                continue
            self.found += 1
            self.split += int(len(hits) > 1)
            self.start_err.append(1000 * float(hits[0][0] - span[0]))
            self.end_err.append(1000 * float(hits[-1][1] - span[1]))
        for seg in segments:
            k = sum(bool(overlaps(seg, span)) for span in stream.spans)
            self.false += int(k == 0)
            self.merged += int(k > 1)

    def result(self) -> dict:
        def errs(v):
            if not v:
                return None
            a = np.abs(v)
            return {"mean": round(float(np.mean(v)), 1), "median_abs": round(float(np.median(a)), 1),
                    "p90_abs": round(float(np.percentile(a, 90)), 1)}
        return {
            "frame": prf(np.concatenate(self.frame_pred), np.concatenate(self.frame_truth)),
            "segment": prf(np.concatenate(self.seg_pred), np.concatenate(self.seg_truth)),
            "utterances": {"true": self.true, "found": self.found, "missed": self.missed,
                           "false_alarms": self.false, "split": self.split, "merged": self.merged},
            "start_error_ms": errs(self.start_err),
            "end_error_ms": errs(self.end_err),
            "us_per_frame": round(1e6 * float(np.mean(self.cost)), 1),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("dev", "test"), default="test")
    ap.add_argument("--streams-per-voice", type=int, default=4)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "vad.json")
    ap.add_argument("--detectors", default="", help="comma-separated subset, e.g. spectral,energy")
    args = ap.parse_args()
    if not shutil.which("espeak-ng"):
        sys.exit("espeak-ng is needed (apt-get install espeak-ng, or `make system-deps`)")
    settings = VadSettings()
    detectors = {"spectral": {}, "energy": {}}
    try:
        import webrtcvad  # noqa: F401

        webrtc_note = "webrtcvad-wheels installed: compared in modes 0-3"
        for mode in range(4):
            detectors[f"webrtc{mode}"] = {"mode": mode}
    except ImportError:
        webrtc_note = "webrtcvad not installed (pip install webrtcvad-wheels): not compared"
    if args.detectors:
        detectors = {k: v for k, v in detectors.items() if k in args.detectors.split(",")}

    rng = random.Random(5)
    t_start = time.time()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        streams = build_streams(args.split, tmp, args.streams_per_voice, rng)
        babble_pool = [speak(s, v, 165, tmp) for s, v in zip(BABBLE_SENTENCES, BABBLE_VOICES * 2)]
    esc, esc_note = esc50_clips(args.split)
    noises = [n for n in NOISES if n != "esc50" or esc]
    conditions = [("clean", None)] + [(n, snr) for n in noises for snr in SNRS]
    results: dict = {}
    for det_name, options in detectors.items():
        kind = "webrtc" if det_name.startswith("webrtc") else det_name
        per_det = {}
        for noise_kind, snr in conditions:
            tally = Tally()
            for i, stream in enumerate(streams):
                nrng = np.random.default_rng(1000 * i + (NOISES + ["clean"]).index(noise_kind))
                noise = None if snr is None else make_noise(noise_kind, len(stream.speech), nrng, esc, babble_pool)
                probs, segments, cost = run_detector(kind, options, mix(stream, noise, snr), settings)
                tally.add(stream, probs, segments, cost, settings.threshold)
            key = noise_kind if snr is None else f"{noise_kind}@{snr}dB"
            per_det[key] = tally.result()
            print(f"{det_name:9} {key:14} frameF1={per_det[key]['frame']['f1']:.3f} "
                  f"segF1={per_det[key]['segment']['f1']:.3f} utt={per_det[key]['utterances']} "
                  f"start={per_det[key]['start_error_ms']} end={per_det[key]['end_error_ms']}", flush=True)
        noisy = [v for k, v in per_det.items() if k != "clean"]
        per_det["mean_over_noisy"] = {
            "frame_f1": round(float(np.mean([v["frame"]["f1"] for v in noisy])), 4),
            "segment_f1": round(float(np.mean([v["segment"]["f1"] for v in noisy])), 4),
            "missed": int(sum(v["utterances"]["missed"] for v in noisy)),
            "false_alarms": int(sum(v["utterances"]["false_alarms"] for v in noisy)),
            "split": int(sum(v["utterances"]["split"] for v in noisy)),
            "utterances": int(sum(v["utterances"]["true"] for v in noisy)),
            "median_abs_start_error_ms": round(float(np.median([v["start_error_ms"]["median_abs"] for v in noisy
                                                                if v["start_error_ms"]])), 1),
            "median_abs_end_error_ms": round(float(np.median([v["end_error_ms"]["median_abs"] for v in noisy
                                                              if v["end_error_ms"]])), 1),
        }
        results[det_name] = per_det
    signal = cpu_signal(streams)
    load_before = [round(x, 2) for x in os.getloadavg()]
    for det_name, options in detectors.items():
        kind = "webrtc" if det_name.startswith("webrtc") else det_name
        results[det_name]["cpu_ms_per_audio_s"] = cpu_cost(kind, options, signal)
        print(f"{det_name:9} cpu ms per audio s: {results[det_name]['cpu_ms_per_audio_s']}", flush=True)
    cpu_note = {"signal": f"first {len(signal) / SR:.0f} s of the {args.split} streams in pink noise at 10 dB SNR",
                "clock": "time.process_time, one thread, best of 3",
                "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    audio_s = sum(len(s.speech) for s in streams) / SR
    report = {
        "benchmark": "vad",
        "split": args.split,
        "voices": VOICES[args.split],
        "streams": len(streams),
        "utterances_per_condition": sum(len(s.spans) for s in streams),
        "audio_seconds_per_condition": round(audio_s, 1),
        "speech_fraction": round(float(np.mean(np.concatenate([s.labels for s in streams]))), 3),
        "noise": {"esc50": esc_note, "others": "white, pink (1/f), babble (6 espeak-ng talkers)",
                  "snr_db": SNRS},
        "webrtc": webrtc_note,
        "policy": {k: getattr(settings, k) for k in ("threshold", "min_speech_ms", "silence_ms", "pre_roll_ms",
                                                     "post_roll_ms", "max_utterance_s")},
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "processor": platform.processor() or platform.machine()},
        "seconds": round(time.time() - t_start, 1),
        "cpu_measurement": cpu_note,
        "detectors": results,
    }
    summary = {k: {**v["mean_over_noisy"], "cpu_ms_per_audio_s": v["cpu_ms_per_audio_s"]} for k, v in results.items()}
    print(json.dumps(summary, indent=1))
    if args.split == "test":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(stamp(report), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
