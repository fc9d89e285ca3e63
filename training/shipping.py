"""Which trained low-bit variant ships, and how: torch-free, so choosing and shipping need no training extra.

A variant's rank is its valid sentence accuracy, then slot F1, then intent accuracy (``valid_rank``). ``ship``
writes a model folder from one variant of a build; ``best_on_valid`` picks that variant among several builds of one
data set within a size budget. training/ensemble.py extends the choice to pairs of variants.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

__all__ = ["valid_rank", "ship", "best_on_valid"]


def valid_rank(m: dict) -> tuple:
    return (m.get("sentence_acc", 0.0), m.get("slot_f1", 0.0), m.get("intent_acc", 0.0))


def ship(build: Path, name: str, dest: Path) -> None:
    """Write ``dest`` as a model folder whose model.onnx is ``model.<name>.onnx`` (sha256 in meta.json updated;
    the card says which file ships and how it scored)."""
    dest.mkdir(parents=True, exist_ok=True)
    meta = json.loads((build / "meta.json").read_text(encoding="utf-8"))
    entry = meta["metrics"]["lowbit"][name]
    shutil.copyfile(build / entry["file"], dest / "model.onnx")
    shutil.copyfile(build / "tokenizer.model", dest / "tokenizer.model")
    meta["files"] = {}
    meta["sha256"] = {fn: hashlib.sha256((dest / fn).read_bytes()).hexdigest()
                      for fn in ("model.onnx", "tokenizer.model")}
    meta["quantisation"] = {"bits": entry["bits"], "mode": entry["mode"], "command": entry["command"],
                            "format": "packed codes, one scale per row (training/lowbit_export.py)"}
    (dest / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    card = (build / "MODEL_CARD.md").read_text(encoding="utf-8") if (build / "MODEL_CARD.md").is_file() else ""
    test = {k: v for k, v in entry["test"].items() if isinstance(v, (int, float))}
    card += (f"\n## Shipped file: {entry['bits']}-bit weights ({entry['mode']})\n"
             f"`model.onnx` is `{entry['file']}` ({entry['bytes'] / 1e6:.2f} MB), made by\n"
             f"`{entry['command']}`. Test scores of that file: {json.dumps(test)}.\n")
    (dest / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(f"shipped {build / entry['file']} -> {dest}", file=sys.stderr)


def best_on_valid(builds: list[Path], max_bytes: int = 10_000_000) -> tuple[Path, str]:
    """The trained low-bit variant to ship, over one or several builds of the same data set (any mode with rounding,
    bits, seed; any fp32 model it came from): the best valid score of its kept epoch (sentence accuracy, then slot
    F1, then intent accuracy), within ``max_bytes``; the smaller file on a tie. All builds of a data set share its
    valid split. Test scores play no part."""
    def key(item: tuple[Path, str, dict]) -> tuple:
        valid = [h["valid"] for h in item[2].get("history") or []]
        best = max((valid_rank(v) for v in valid), default=(-1.0,))
        return best + (-item[2]["bytes"],)
    candidates = []
    for build in builds:
        lowbit = json.loads((build / "meta.json").read_text(encoding="utf-8")).get("metrics", {}).get("lowbit", {})
        candidates += [(build, name, e) for name, e in lowbit.items() if e.get("mode") in ("plain", "squash")
                       and e.get("bytes", max_bytes + 1) <= max_bytes]
    if not candidates:
        raise SystemExit(f"{', '.join(map(str, builds))}: no trained plain/squash variant within "
                         f"{max_bytes / 1e6:.0f} MB to ship")
    build, name, _ = max(candidates, key=key)
    return build, name
