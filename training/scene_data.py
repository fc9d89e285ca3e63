"""Household scenes synthesised from ESC-50 events over ambient beds: the data of the scene-context model.

No public data set records the scenes a home assistant hears, so each scene is a recipe (``SCENES``): an ambient
bed (kitchen noise, a TV, party babble, water, wind, a quiet room's hiss), a pool of event classes that happen in
that room at a given rate, and a chance that someone talks. A 10 s recording of a scene places random clips of
its events at random times, gains and SNRs over a random stretch of its bed; with some probability an event of any
class joins as a distractor (so every class is tagged in every room) and a voice is laid on top.

Everything is split by source, never by clip, so no sound is on both sides of a split:
- ESC-50 (fold 4 and strays) and the ESC-10 extra clips, by Freesound source recording (``src_file``), per class:
  about 25 % of a class's sources test, 12 % valid, the rest train (``split_of``);
- speechocean762's 750 test utterances by speaker (20 % test, 10 % valid);
- the picovoice kitchen noise by time (train the first 60 %, valid the next 10 %, test the last 30 %).
``source_ids`` lists what a split holds (hashed), so the benchmark and the tests check that held-out sounds never
reached training, from the model's meta.json rather than from this file's promise.

Labels are per 10 ms frame: an inserted clip is active where it is within 25 dB of its own loudest frame and
not more than 3 dB under the bed there; ``window_labels`` turns a 1 s window's rows into its event labels.
Numpy and soundfile only (no torch), so the benchmark uses the same recipe.
"""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np

SR = 16000
HOP = 160  # samples per 10 ms feature row
WINDOW_ROWS = 100  # one model window: 1 s of log-mel rows
MIN_EVENT_ROWS = 5  # an event is a window's label when it sounds in this many of its rows (50 ms)

CLASSES = (
    "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow",
    "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind", "pouring_water",
    "toilet_flush", "thunderstorm", "crying_baby", "sneezing", "clapping", "breathing", "coughing", "footsteps",
    "laughing", "brushing_teeth", "snoring", "drinking_sipping", "door_wood_knock", "mouse_click",
    "keyboard_typing", "door_wood_creaks", "can_opening", "washing_machine", "vacuum_cleaner", "clock_alarm",
    "clock_tick", "glass_breaking", "helicopter", "chainsaw", "siren", "car_horn", "engine", "train",
    "church_bells", "airplane", "fireworks", "hand_saw",
)  # ESC-50's target order: CLASSES[target] is the category
ALERTS = ("glass_breaking", "siren", "dog", "crying_baby", "door_wood_knock", "clock_alarm")
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Scene:
    """A room as a recipe: its bed, the events that happen in it (about ``rate`` per 10 s), how often a voice."""

    name: str
    beds: tuple[str, ...]  # bed kinds, one drawn per recording (see ``_bed``)
    events: tuple[str, ...]
    rate: float = 3.0
    voice: float = 0.5  # chance that someone talks
    bed_db: tuple[float, float] = (-45.0, -30.0)  # bed level, dBFS of its RMS


SCENES = (
    Scene("kitchen", ("kitchen", "loop:washing_machine", "loop:pouring_water"),
          ("pouring_water", "water_drops", "can_opening", "drinking_sipping", "footsteps", "clock_tick",
           "door_wood_creaks", "washing_machine", "crackling_fire")),
    Scene("living_room", ("tv", "tv", "loop:vacuum_cleaner"),
          ("footsteps", "coughing", "sneezing", "cat", "dog", "door_wood_knock", "laughing", "clapping",
           "door_wood_creaks", "vacuum_cleaner", "crying_baby"), voice=0.6),
    Scene("bathroom", ("loop:pouring_water", "loop:water_drops", "fan"),
          ("toilet_flush", "brushing_teeth", "water_drops", "pouring_water", "coughing", "sneezing")),
    Scene("bedroom", ("hiss",), ("snoring", "breathing", "clock_tick", "clock_alarm", "cat", "coughing"),
          rate=1.5, voice=0.3, bed_db=(-70.0, -55.0)),
    Scene("office", ("hiss", "fan"), ("keyboard_typing", "mouse_click", "clock_tick", "coughing",
                                      "door_wood_creaks", "door_wood_knock", "footsteps", "sneezing"),
          bed_db=(-60.0, -45.0)),
    Scene("street", ("loop:engine", "loop:train", "loop:wind", "loop:rain"),
          ("car_horn", "siren", "helicopter", "airplane", "footsteps", "church_bells", "engine", "train", "dog",
           "crow")),
    Scene("garden", ("loop:wind", "loop:crickets", "loop:insects", "loop:chirping_birds"),
          ("rooster", "hen", "dog", "frog", "crow", "chirping_birds", "cow", "sheep", "pig", "chainsaw",
           "hand_saw", "thunderstorm", "rain", "sea_waves")),
    Scene("party", ("babble",), ("laughing", "clapping", "drinking_sipping", "can_opening", "fireworks",
                                 "glass_breaking", "footsteps", "coughing"), rate=4.0, voice=0.8,
          bed_db=(-35.0, -22.0)),
)
SCENE_NAMES = tuple(s.name for s in SCENES)


def data_dir() -> Path:
    return Path(os.environ.get("HARK_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _hash(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def source_id(kind: str, name: str) -> str:
    """A short stable id for a source (an ESC-50 ``src_file``, a speaker), for meta.json's held-out check."""
    return hashlib.sha1(f"{kind}:{name}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Clip:
    path: Path
    category: str
    src: str
    split: str

    @property
    def label(self) -> int:
        return CLASSES.index(self.category)


def split_of(ranked_index: int, n_sources: int) -> str:
    """The split of a class's source at ``ranked_index`` of its ``n_sources`` (ranked by hash): test first."""
    n_test = max(1, round(0.25 * n_sources))
    n_valid = max(1, round(0.12 * n_sources)) if n_sources >= 4 else 0
    return "test" if ranked_index < n_test else "valid" if ranked_index < n_test + n_valid else "train"


def load_clips(root: Path | None = None) -> list[Clip]:
    """Every ESC-50 and ESC-10-extra clip with its split (by source recording, per class)."""
    root = root or data_dir()
    rows: list[tuple[Path, str, str]] = []
    for folder, meta in (("esc50", "esc50_subset.csv"), ("esc10_extra", "esc10_extra.csv")):
        path = root / folder / "meta" / meta
        if not path.is_file():
            if folder == "esc50":
                raise FileNotFoundError(f"ESC-50 not found: {path} (set HARK_DATA to the shared data folder)")
            continue
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                name = row["filename"].rsplit(".", 1)[0] + ".flac"
                rows.append((root / folder / "audio_16k" / name, row["category"], row["src_file"]))
    # washing_machine's 8 clips are takes of one recording: such a class is split by take (documented in the
    # model card and the benchmark) rather than left out of every held-out set
    n_src: dict[str, set[str]] = {}
    for _, category, src in rows:
        n_src.setdefault(category, set()).add(src)
    rows = [(path, category, src if len(n_src[category]) > 1 else f"{src}-{path.stem.split('-')[2]}")
            for path, category, src in rows]
    by_class: dict[str, list[str]] = {}
    for _, category, src in rows:
        by_class.setdefault(category, [])
        if src not in by_class[category]:
            by_class[category].append(src)
    split: dict[tuple[str, str], str] = {}
    for category, srcs in by_class.items():
        ranked = sorted(srcs, key=lambda s: _hash(f"{category}/{s}"))
        for i, src in enumerate(ranked):
            split[category, src] = split_of(i, len(ranked))
    return [Clip(path, category, src, split[category, src]) for path, category, src in rows]


@dataclass(frozen=True)
class Utterance:
    path: Path
    speaker: str
    split: str


def load_voices(root: Path | None = None) -> list[Utterance]:
    """speechocean762's audio subset, split by speaker (none when the folder is absent)."""
    root = (root or data_dir()) / "speechocean762"
    tsv = root / "test_subset_750.tsv"
    if not tsv.is_file():
        return []
    out = []
    with open(tsv, newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            h = _hash(f"speaker/{row['speaker']}") % 10
            out.append(Utterance(root / row["audio"], row["speaker"], "test" if h < 2 else "valid" if h < 3
                                 else "train"))
    return out


KITCHEN_SPLIT = {"train": (0.0, 0.6), "valid": (0.6, 0.7), "test": (0.7, 1.0)}


def source_ids(split: str, root: Path | None = None) -> dict[str, list[str]]:
    """What a split holds, hashed: ESC sources per class, speakers, and the kitchen-noise stretch."""
    clips = load_clips(root)
    return {"esc_sources": sorted({source_id("esc", f"{c.category}/{c.src}") for c in clips if c.split == split}),
            "speakers": sorted({source_id("speaker", u.speaker) for u in load_voices(root) if u.split == split}),
            "kitchen_fraction": list(KITCHEN_SPLIT[split])}


@lru_cache(maxsize=4096)
def read_audio(path: Path) -> np.ndarray:
    """A 16 kHz mono FLAC as float32 in [-1, 1] (cached: the corpus is small)."""
    import soundfile

    x, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    if sr != SR:
        raise ValueError(f"{path}: {sr} Hz, expected {SR}")
    return np.ascontiguousarray(x.mean(axis=1))


def mel_of(audio: np.ndarray) -> np.ndarray:
    """hark's own streaming front end on float audio in [-1, 1]: (rows, 64) float32 log-mel, as the plugin hears it."""
    from hark.features import log_mel

    return log_mel(np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)).log_mel.astype(np.float32)


def hop_windows(mel: np.ndarray, hop_rows: int = 50) -> np.ndarray:
    """The model windows of ``mel`` the plugin runs, one every ``hop_rows`` rows: (windows, WINDOW_ROWS, 64) float32."""
    starts = range(0, len(mel) - WINDOW_ROWS + 1, hop_rows)
    return np.stack([mel[s: s + WINDOW_ROWS] for s in starts]).astype(np.float32)


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def frame_db(x: np.ndarray) -> np.ndarray:
    """Level of each 10 ms row of ``x`` (dBFS)."""
    n = len(x) // HOP
    f = x[: n * HOP].reshape(n, HOP).astype(np.float64)
    return 10 * np.log10(np.mean(f * f, axis=1) + 1e-12)


def active_db(x: np.ndarray) -> float:
    """Level of a clip where it sounds (its rows within 25 dB of its loudest), so gains ignore silent padding."""
    db = frame_db(x)
    if not len(db):
        return -120.0
    loud = db[db > db.max() - 25]
    return float(10 * np.log10(np.mean(10 ** (loud / 10))))


@dataclass
class Pools:
    """The clips, voices and beds one split may draw from."""

    split: str
    clips: dict[str, list[Clip]] = field(default_factory=dict)
    voices: list[Utterance] = field(default_factory=list)
    kitchen: np.ndarray | None = None

    @classmethod
    def load(cls, split: str, root: Path | None = None) -> "Pools":
        pools = cls(split)
        for clip in load_clips(root):
            if clip.split == split:
                pools.clips.setdefault(clip.category, []).append(clip)
        if split != "valid" and len(pools.clips) < len(CLASSES):  # valid may lack a class of 2-3 sources
            missing = [c for c in CLASSES if c not in pools.clips]
            raise ValueError(f"split {split}: no clips of {', '.join(missing)}")
        pools.voices = [u for u in load_voices(root) if u.split == split]
        kitchen = (root or data_dir()) / "picovoice_s2i_dev" / "noise" / "kitchen.flac"
        if kitchen.is_file():
            x = read_audio(kitchen)
            a, b = KITCHEN_SPLIT[split]
            pools.kitchen = x[int(a * len(x)): int(b * len(x))]
        return pools

    def with_only(self, category: str, clip: Clip) -> "Pools":
        """These pools with ``clip`` as the one clip of ``category`` (a benchmark plants each held-out clip)."""
        return Pools(self.split, {**self.clips, category: [clip]}, self.voices, self.kitchen)

    def clip(self, category: str, rng: np.random.Generator) -> np.ndarray:
        options = self.clips[category]
        return read_audio(options[rng.integers(len(options))].path)

    def voice(self, rng: np.random.Generator) -> np.ndarray | None:
        if not self.voices:
            return None
        return read_audio(self.voices[rng.integers(len(self.voices))].path)


def _colored(n: int, rng: np.random.Generator, slope: float) -> np.ndarray:
    """Noise with power falling as f^-slope (0 white, 1 pink, 2 brown), unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec *= np.where(f > 20, np.maximum(f, 20) ** (-slope / 2), 0.0)
    x = np.fft.irfft(spec, n)
    return x / (np.sqrt(np.mean(x * x)) + 1e-12)


def _concat(pieces_of, n: int, rng: np.random.Generator) -> np.ndarray:
    """Pieces drawn by ``pieces_of(rng)`` laid end to end (20 ms cross-fades) to ``n`` samples."""
    out = np.zeros(0, np.float32)
    fade = np.linspace(0, 1, 320, dtype=np.float32)
    while len(out) < n:
        piece = pieces_of(rng)
        if len(out) and len(piece) > 640:
            out[-320:] = out[-320:] * fade[::-1] + piece[:320] * fade
            piece = piece[320:]
        out = np.concatenate([out, piece])
    start = rng.integers(0, max(1, len(out) - n))
    return out[start: start + n]


def _bed(kind: str, n: int, pools: Pools, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS ambient sound of ``kind`` for ``n`` samples."""
    if kind.startswith("loop:") and kind[5:] in pools.clips:
        category = kind[5:]
        x = _concat(lambda r: trim_silence(pools.clip(category, r)), n, rng)
    elif kind == "kitchen" and pools.kitchen is not None and len(pools.kitchen) > n:
        start = rng.integers(0, len(pools.kitchen) - n)
        x = pools.kitchen[start: start + n].copy()
    elif kind in ("tv", "babble") and pools.voices:
        talkers = 1 if kind == "tv" else int(rng.integers(3, 6))
        x = sum(_concat(lambda r: pools.voice(r), n, rng) * rng.uniform(0.5, 1.0) for _ in range(talkers))
        if kind == "tv":  # a small loudspeaker: no bass, no sparkle
            x = _band(x, 200.0, 5000.0)
            if rng.random() < 0.5:
                x = x + _concat(lambda r: trim_silence(pools.clip(str(r.choice(["laughing", "clapping"])), r)), n,
                                rng) * 0.3
    elif kind == "fan":
        x = _colored(n, rng, 2.0) + 0.3 * np.sin(2 * np.pi * rng.uniform(45, 130) * np.arange(n) / SR)
    else:  # "hiss", and beds whose source is absent
        x = _colored(n, rng, rng.uniform(0.5, 1.5))
    x = x.astype(np.float32)
    return x / (np.sqrt(np.mean(x * x)) + 1e-9)


def _band(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / SR)
    spec[(f < lo) | (f > hi)] = 0
    return np.fft.irfft(spec, len(x)).astype(np.float32)


def trim_silence(x: np.ndarray) -> np.ndarray:
    """A clip without its digital-silence padding (ESC-50 pads short sounds to 5 s)."""
    db = frame_db(x)
    keep = np.flatnonzero(db > max(db.max() - 40, -90)) if len(db) else []
    if not len(keep):
        return x
    return x[keep[0] * HOP: (keep[-1] + 1) * HOP]


def vary(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A training variant of a clip: played 15 % slower to 18 % faster (pitch moves with it) and, half the time,
    tilted brighter or duller (power x (f / 1 kHz)^t, t in [-1, 1]). Eight clips a class is little; this is the
    cheapest diversity there is."""
    factor = rng.uniform(0.85, 1.18)
    n = max(2, int(len(clip) / factor))
    x = np.interp(np.arange(n) * factor, np.arange(len(clip)), clip)
    if rng.random() < 0.5:
        spec = np.fft.rfft(x)
        f = np.maximum(np.fft.rfftfreq(n, 1 / SR), 50.0)
        spec *= (f / 1000.0) ** (rng.uniform(-1, 1) / 2)
        x = np.fft.irfft(spec, n)
    return x.astype(np.float32)


@dataclass(frozen=True)
class Mixture:
    """A synthesised recording: samples, the scene, and per-row activity of each event class (rows x 50)."""

    audio: np.ndarray
    scene: int
    active: np.ndarray
    #: (category, start s, end s) of each inserted event, for alert scoring
    placed: tuple[tuple[str, float, float], ...] = ()


def mix(scene: Scene, pools: Pools, rng: np.random.Generator, seconds: float = 10.0, *,
        extra: tuple[str, ...] = (), exclude: tuple[str, ...] = (), distractor: float = 0.4,
        snr_db: tuple[float, float] = (0.0, 20.0), extra_snr_db: tuple[float, float] | None = None,
        varied: bool = False) -> Mixture:
    """One recording of ``scene``: its bed, Poisson(rate) events of its pool, maybe a distractor of any class and
    a voice, plus one event of each category in ``extra`` (the alert benchmark's planted sound); no clip of a
    category in ``exclude`` is placed. ``varied``: each clip through ``vary`` (training recordings only)."""
    n = int(seconds * SR)
    rows = n // HOP
    bed_db = rng.uniform(*scene.bed_db)
    bed = _bed(str(rng.choice(scene.beds)), n, pools, rng) * 10 ** (bed_db / 20)
    bed_rows = frame_db(bed)
    out = bed.astype(np.float64)
    active = np.zeros((rows, len(CLASSES)), bool)
    placed = []
    pool = [c for c in scene.events if c not in exclude and c in pools.clips]
    chosen = [str(rng.choice(pool)) for _ in range(rng.poisson(scene.rate * seconds / 10))] if pool else []
    if rng.random() < distractor:
        others = [c for c in pools.clips if c not in exclude]
        chosen.append(str(rng.choice(others)))
    wanted = [(c, snr_db) for c in chosen] + [(c, extra_snr_db or snr_db) for c in extra]
    for category, snr in wanted:
        clip = trim_silence(pools.clip(category, rng))
        if varied:
            clip = vary(clip, rng)
        if len(clip) > n:
            start = rng.integers(0, len(clip) - n + 1)
            clip = clip[start: start + n]
        gain_db = bed_db + rng.uniform(*snr) - active_db(clip)
        clip = clip * 10 ** (gain_db / 20)
        at = int(rng.integers(0, n - len(clip) + 1))
        out[at: at + len(clip)] += clip
        db = frame_db(clip)
        r0 = at // HOP
        mask = (db > db.max() - 25) & (db > bed_rows[r0: r0 + len(db)] - 3)
        active[r0: r0 + len(db), CLASSES.index(category)] |= mask[: rows - r0]
        placed.append((category, at / SR, (at + len(clip)) / SR))
    if rng.random() < scene.voice:
        voice = pools.voice(rng)
        if voice is not None:
            voice = voice[: n] * 10 ** ((bed_db + rng.uniform(5, 25) - active_db(voice)) / 20)
            at = int(rng.integers(0, n - len(voice) + 1))
            out[at: at + len(voice)] += voice
    out *= 10 ** (rng.uniform(-6, 6) / 20)  # the microphone's gain
    peak = np.max(np.abs(out))
    if peak > 0.99:
        out *= 0.99 / peak
    return Mixture(out.astype(np.float32), SCENE_NAMES.index(scene.name), active, tuple(placed))


def window_labels(active_rows: np.ndarray) -> np.ndarray:
    """Event labels of windows from their rows' activity (..., rows, 50): an event counts when it sounds in at
    least ``MIN_EVENT_ROWS`` rows of the window."""
    return active_rows.sum(axis=-2) >= MIN_EVENT_ROWS


def recordings(split: str, per_scene: int, seed: int = 0, **options) -> Iterator[Mixture]:
    """The fixed set of ``per_scene`` recordings of every scene of ``split`` (scenes in turn) that training,
    tests and the benchmark all draw alike: the same arguments give the same audio."""
    pools = Pools.load(split)
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    options.setdefault("varied", split == "train")
    for i in range(per_scene * len(SCENES)):
        yield mix(SCENES[i % len(SCENES)], pools, rng, **options)
