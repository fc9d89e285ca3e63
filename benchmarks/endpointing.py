"""Semantic endpointing, measured: how much earlier utterances end, and how often a pause inside a request is
mistaken for its end.

    python benchmarks/endpointing.py --voices en-us+m4,en-gb+m2 --offset 100 --sentences 40   # dev voices/sentences

Every sentence is spoken twice by each voice (espeak-ng, as in benchmarks/audio.py): "fluent" (the sentence as
it is) and "hesitant" (split at a random word boundary inside it, the halves spoken apart and joined with
``--pause`` ms of digital silence, shorter than the vad's 600 ms so that waiting the full silence keeps one
utterance). The engine runs with ``complete_threshold`` out of reach, so every utterance waits the full silence,
and each end-of-turn judgement (at ``early_silence_ms`` into each pause) is recorded with the answer the judges
gave. A threshold then decides offline, per utterance, where it would have ended: at the first pause whose answer
reaches it. Ending at the last pause (nothing spoken after it) gives the same audio, so the same transcription,
as waiting the full silence, only ``silence_ms - early_silence_ms`` sooner; ending at an earlier pause cuts the
request (counted as damage whatever the cut part would have parsed to). benchmarks/audio.py then measures the
chosen setting end to end.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench import stamp  # noqa: E402  (benchmarks/ is this script's folder: first on sys.path)
from audio import SR, run_stream, utterance  # noqa: E402
from templates import NOW  # noqa: E402
from vad import frame_db, speak  # noqa: E402

from hark import Engine, load_config  # noqa: E402
from hark.plugins.asr_pocketsphinx import turn_over  # noqa: E402
from hark.plugins.vad import VadStream  # noqa: E402
from hark.streams import Stream  # noqa: E402


def trimmed(x: np.ndarray) -> np.ndarray:
    """``x`` without the leading/trailing frames more than 40 dB under its loudest."""
    db = frame_db(x)
    on = np.nonzero(db > max(db.max() - 40, -70))[0]
    return x[on[0] * 480:(on[-1] + 1) * 480] if len(on) else x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=40)
    ap.add_argument("--offset", type=int, default=100, help="skip this many sentences of audio.py's shuffle")
    ap.add_argument("--voices", default="en-us+m4,en-gb+m2", help="development voices (not audio.py's)")
    ap.add_argument("--pause", type=int, default=400, help="hesitation inside a request (ms)")
    ap.add_argument("--early-silence-ms", type=int, default=210)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="an asr_pocketsphinx setting, e.g. end_of_turn_lm=0.05")
    ap.add_argument("--out", type=Path, default=Path("/tmp/endpointing.json"), help="every judgement (large)")
    ap.add_argument("--summary", type=Path, default=ROOT / "benchmarks" / "results" / "endpointing_dev.json",
                    help="the threshold grid")
    ap.add_argument("--analyze", type=Path, metavar="FILE", help="only compute the grid from an earlier --out")
    args = ap.parse_args()
    if args.analyze:
        summarize(json.loads(args.analyze.read_text()), args.summary)
        return
    judged: list[dict] = []
    original = Stream._judge

    def recording(self, end, pause, context, sink):
        t0 = time.perf_counter()
        p = original(self, end, pause, context, sink)
        asr = self.states.get("asr_pocketsphinx")
        judged.append({"end": end, "pause": pause, "p": p, "confidence": p or 0.0,
                       "ms": round(1000 * (time.perf_counter() - t0), 1),
                       **(getattr(asr, "last_judgement", None) or {})})
        return None  # never end early while collecting

    Stream._judge = recording
    ends: list[dict] = []
    original_event = VadStream._event

    def event(self, boundary):
        if boundary.kind == "speech_end":
            ends.append({k: boundary.data[k] for k in ("start", "end", "reason")})
        return original_event(self, boundary)

    VadStream._event = event
    asr_settings = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    engine = Engine(load_config(ROOT / "config.yaml", env={}, **{
        "plugins.settings.vad": {"early_silence_ms": args.early_silence_ms},
        **({"plugins.settings.asr_pocketsphinx": asr_settings} if asr_settings else {})}))
    tests = list(engine.skills.tests())
    random.Random(11).shuffle(tests)
    tests = tests[args.offset: args.offset + args.sentences]
    tmp = Path(tempfile.mkdtemp(prefix="hark-endpointing-"))
    run_stream(engine, utterance(speak("turn on the lights", "en-us+m4", 165, tmp), None, 0)[0])  # warm-up
    rows = []
    t0 = time.time()
    for voice in args.voices.split(","):
        vrng = random.Random(f"{voice}-endpointing")
        for text, expected in ((t.text, f"{t.skill}.{t.intent}") for t in tests):
            rate = vrng.randint(150, 185)
            words = text.split()
            cut = vrng.randint(1, len(words) - 1) if len(words) > 1 else None
            for style in ("fluent", "hesitant"):
                if style == "hesitant":
                    if cut is None:
                        continue
                    a = trimmed(speak(" ".join(words[:cut]), voice, rate, tmp))
                    b = trimmed(speak(" ".join(words[cut:]), voice, rate, tmp))
                    speech = np.concatenate([a, np.zeros(int(args.pause * SR / 1000)), b])
                else:
                    speech = trimmed(speak(text, voice, rate, tmp))
                pcm, true_end = utterance(speech, None, 0)
                judged.clear()
                ends.clear()
                got = run_stream(engine, pcm)
                action = got["action"]
                rows.append({"voice": voice, "style": style, "text": text, "cut_after": cut, "expected": expected,
                             "intent": f"{action['skill']}.{action['intent']}" if action else None,
                             "slots": {s["name"]: s.get("value") for s in (action or {}).get("slots", [])},
                             "speech_end": got["end_event"], "true_end": true_end, "judged": list(judged),
                             "processing_s": got["end_cost"], "ends": list(ends)})
        print(f"{voice}: {len(rows)} utterances ({time.time() - t0:.0f}s)", flush=True)
    engine.close()
    shutil.rmtree(tmp, ignore_errors=True)
    data = {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "rows": rows}
    args.out.write_text(json.dumps(data, indent=1))
    print(f"wrote {args.out}")
    summarize(data, args.summary)


def summarize(data: dict, out: Path) -> None:
    """Per (mid_pause_ms, end_of_turn_lm, complete_threshold): share of utterances that would end at their last
    pause (early), be cut at an earlier one (cut), and be cut with another intent or other slots than the full
    wait (damage: the words heard at the cut, parsed as text, against the full wait's action); and the mean
    silence waited where they end early. The endpointer asks at every multiple of early_silence_ms, so each
    pause has several judgements, and P(over) is computed here from each one's LM probability and pause."""
    engine = Engine(load_config(ROOT / "config.yaml", env={}, **{"plugins.disabled": ["asr_pocketsphinx"]}))
    ctx = engine.context(now=NOW)
    cache: dict[str, tuple] = {}

    def parsed(text: str) -> tuple:
        if text not in cache:
            r = engine.parse(text, ctx)
            cache[text] = (f"{r.action.skill}.{r.action.intent}", sorted((s.name, str(s.value)) for s in
                                                                          r.action.slots)) if r.action else (None, [])
        return cache[text]

    rows = [r for r in data["rows"] if len(r["ends"]) == 1]
    grid = []
    for mid in (0, 100, 200, 300):
        for lm_min in (0.2, 0.5, 0.8, 0.9, 0.95):
            for threshold in (0.8, 0.9, 0.95):
                entry: dict = {"mid_pause_ms": mid, "end_of_turn_lm": lm_min, "complete_threshold": threshold}
                for style in ("fluent", "hesitant"):
                    sel = [r for r in rows if r["style"] == style]
                    early = cut = damage = 0
                    waited: list[float] = []
                    for r in sel:
                        for j in r["judged"]:
                            if j.get("lm") is None or j["confidence"] < threshold or \
                                    turn_over(j["lm"], j.get("pause", 0.0), mid) < lm_min:
                                continue
                            if j["end"] >= r["ends"][0]["end"] - 1e-6:
                                early += 1
                                waited.append(j.get("pause", 0.0))
                            else:
                                cut += 1
                                full = (r["intent"], sorted((k, str(v)) for k, v in r["slots"].items()))
                                damage += parsed(j["text"]) != full
                            break
                    entry[style] = {"utterances": len(sel), "early": round(early / len(sel), 4),
                                    "cut": round(cut / len(sel), 4), "damage": round(damage / len(sel), 4),
                                    "mean_pause_ms": round(1000 * sum(waited) / len(waited)) if waited else None}
                grid.append(entry)
                print(json.dumps(entry))
    engine.close()
    judge_ms = sorted(j["ms"] for r in rows for j in r["judged"])
    out.write_text(json.dumps(stamp({"benchmark": "endpointing", "settings": data["settings"],
                                     "judgement_ms_p50": judge_ms[len(judge_ms) // 2] if judge_ms else None,
                                     "grid": grid}), indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
