"""Does an acoustic model adapted to synthetic speech hurt real voices? WER on real read speech, two models.

    python benchmarks/asr_real_speech.py                 # -> benchmarks/results/asr_real_speech.json (~6 min)
    python benchmarks/asr_real_speech.py --limit 40 --out /tmp/r.json

Speech: speechocean762's test audio subset (real non-native English, Mandarin L1, adults and children reading
prompts; $HARK_DATA/speechocean762, CC BY 4.0), the adult speakers only. Each recording is decoded whole with
pocketsphinx's generic English LM (the prompts are everyday sentences no skill LM covers) and the plugin's
-50 dBFS noise floor, once with the package's en-us model and once with each model folder given by --models.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench import stamp  # noqa: E402  (benchmarks/ is this script's folder: first on sys.path)
from vad import load_flac  # noqa: E402

from hark.phonetics import edit_distance  # noqa: E402  (Levenshtein on word lists)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=150, help="adult recordings decoded (spread over speakers)")
    ap.add_argument("--models", default="plugins/asr_pocketsphinx/models/en-us-synthetic",
                    help="comma-separated model folders compared with the package's en-us model")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "asr_real_speech.json")
    args = ap.parse_args()

    import pocketsphinx

    data = Path(os.environ.get("HARK_DATA", ROOT.parent / "shared" / "data")) / "speechocean762"
    table = data / "test_subset_750.tsv"
    if not table.exists():
        print(f"error: {table} not found (set HARK_DATA to the folder holding speechocean762)", file=sys.stderr)
        return 2
    with open(table, encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if int(r["age"]) > 12]
    rows = rows[:: max(1, len(rows) // args.limit)][: args.limit]
    base = Path(pocketsphinx.get_model_path()) / "en-us"
    models = {"package en-us": base / "en-us"}
    for m in filter(None, args.models.split(",")):
        models[m] = (ROOT / m) if not Path(m).is_absolute() else Path(m)
    rng = np.random.default_rng(0)
    audio = []
    for r in rows:
        x, _ = load_flac(data / r["audio"])
        x = x + rng.normal(0, 10 ** (-50 / 20), len(x))
        audio.append((np.clip(x * 32768, -32768, 32767).astype(np.int16), r["text"].lower().split()))
    seconds = sum(len(a) for a, _ in audio) / 16000
    results = {}
    for name, hmm in models.items():
        decoder = pocketsphinx.Decoder(hmm=str(hmm), lm=str(base / "en-us.lm.bin"),
                                       dict=str(base / "cmudict-en-us.dict"), loglevel="FATAL")
        errors = words = 0
        start = time.process_time()
        for pcm, ref in audio:
            decoder.start_utt()
            decoder.process_raw(pcm.tobytes(), full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            got = [w for w in (hyp.hypstr.split() if hyp else []) if not w.startswith(("<", "["))]
            errors += edit_distance(ref, got)
            words += len(ref)
        results[name] = {"wer": round(errors / words, 4), "words": words,
                         "real_time_factor": round((time.process_time() - start) / seconds, 3)}
        print(f"{name:50s} WER {errors / words:.3f}", file=sys.stderr)
    out = {"benchmark": "asr_real_speech", "data": "speechocean762 test audio subset, adults",
           "recordings": len(audio), "speakers": len({r["speaker"] for r in rows}), "audio_seconds": round(seconds, 1),
           "lm": "pocketsphinx generic en-us", "results": results}
    stamp(out)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
