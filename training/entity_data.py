"""SLURP entity-resolution rows (slurp/entity_resolution_dev.tsv), their split, and entity values for training the
entity resolver. Stdlib only: the benchmark imports it too.

The split (``split_of_row`` / ``split_rows``) keeps the benchmark's held-out part clean in two ways at once:

- **by gold value**: a value whose ``value_bucket`` (sha256 of the lower-cased value, mod 100) is < 50 is a *test*
  value; every row with a test gold value is in "test". No test gold value appears in the other parts.
- **by slurp_id**: a row with a train gold value goes to "train" only if *no* entity of the same slurp_id (the same
  utterance: its other recordings, its other entities) has a test value; otherwise it is "excluded" (used for
  nothing). So no utterance has rows on both sides.

The train part is split again by the same bucket: 50-74 "fit" (may be used to train the phonetic encoder), 75-99
"tune" (never trained on: decides whether the learned encoder is kept). The ranker weights are tuned on the whole
train part. Hash-based, so every script agrees without a stored list; with this data: test 1,799 rows (393 with
the entity changed by ASR), train 1,531 (328), excluded 328 (58).

Entity values for synthetic training pairs (``devel_entity_values``) come from SLURP devel.jsonl, minus every value
whose bucket is a test bucket, so no test gold value is trained on even through synthetic pairs.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .data import data_dir

__all__ = ["ErRow", "value_bucket", "is_test_value", "split_rows", "load_rows", "load_catalog", "catalog_types",
           "devel_entity_values", "snips_music_values", "KEPT_TYPES"]

_ENTITY = re.compile(r"\[\s*([A-Za-z_]+)\s*:\s*([^\]]*?)\s*\]")

#: the catalog-like SLURP types of the benchmark (slurp/README.md)
KEPT_TYPES = frozenset("""app_name artist_name audiobook_author audiobook_name business_name business_type color_type
currency_name device_type drink_type email_folder event_name food_type game_name house_place ingredient list_name
meal_type media_type movie_name movie_type music_album music_genre news_topic order_type person personal_info
place_name player_setting playlist_name podcast_name radio_name relation song_name transport_agency transport_name
transport_type""".split())


@dataclass(frozen=True)
class ErRow:
    slurp_id: str
    recording_file: str
    entity_type: str
    gold_value: str
    heard_span: str
    reference: str
    asr_hypothesis: str
    changed: bool
    #: "test", "fit", "tune" (the last two together: the train part) or "excluded"
    split: str


def value_bucket(value: str) -> int:
    """0..99 from sha256 of the lower-cased, whitespace-normalised value."""
    key = " ".join(value.lower().split())
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big") % 100


def is_test_value(value: str) -> bool:
    return value_bucket(value) < 50


def split_rows(rows: list[dict]) -> list[str]:
    """The split of each row (dicts with slurp_id and gold_value), see the module docstring."""
    test_ids = defaultdict(bool)
    for r in rows:
        test_ids[r["slurp_id"]] |= is_test_value(r["gold_value"])
    out = []
    for r in rows:
        bucket = value_bucket(r["gold_value"])
        if bucket < 50:
            out.append("test")
        elif test_ids[r["slurp_id"]]:
            out.append("excluded")
        else:
            out.append("fit" if bucket < 75 else "tune")
    return out


def slurp_dir() -> Path:
    return data_dir() / "slurp"


def load_rows(path: Path | None = None) -> list[ErRow]:
    path = path or slurp_dir() / "entity_resolution_dev.tsv"
    with open(path, encoding="utf-8", newline="") as fh:
        raw = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [ErRow(r["slurp_id"], r["recording_file"], r["entity_type"], r["gold_value"], r["heard_span"],
                  r["reference"], r["asr_hypothesis"], r["asr_changed_entity"] == "1", split)
            for r, split in zip(raw, split_rows(raw))]


def catalog_types(folder: Path | None = None) -> list[str]:
    folder = folder or slurp_dir() / "entity_catalogs_dev"
    return sorted(p.stem for p in folder.glob("*.txt"))


def load_catalog(entity_type: str, folder: Path | None = None) -> list[str]:
    folder = folder or slurp_dir() / "entity_catalogs_dev"
    return [line.strip() for line in (folder / f"{entity_type}.txt").read_text(encoding="utf-8").splitlines()
            if line.strip()]


def devel_entity_values(path: Path | None = None) -> dict[str, int]:
    """{lower-cased value: count} of the annotated entities of kept types in SLURP devel.jsonl, without test
    values (``is_test_value``)."""
    path = path or slurp_dir() / "devel.jsonl"
    counts: dict[str, int] = defaultdict(int)
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            for m in _ENTITY.finditer(item["sentence_annotation"]):
                value = " ".join(m.group(2).lower().split())
                if m.group(1) in KEPT_TYPES and value and not is_test_value(value):
                    counts[value] += 1
    return dict(counts)


def snips_music_values(path: Path | None = None) -> list[str]:
    """Artist, album, track and playlist names of SNIPS (catalogs/snips_music_entities.csv), lower-cased, without
    test values."""
    path = path or data_dir() / "catalogs" / "snips_music_entities.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        values = {" ".join(r["value"].lower().split()) for r in csv.DictReader(fh)}
    return sorted(v for v in values if v and not is_test_value(v))
