"""End-to-end audio benchmark: espeak-ng speech of held-out skill sentences -> VAD -> ASR n-best -> intent -> action.

    python benchmarks/audio.py                         # -> benchmarks/results/audio.json (~15 min on 2 cores)
    python benchmarks/audio.py --sentences 40 --out /tmp/a.json   # a quick look

Sentences: the bundled skills' held-out ``tests:`` (never used to build the templates, the intent model or the
skill language model), a fixed random sample. Voices: espeak-ng voices/variants the test suite does not use
(tests use en-us and en-us+f4), speaking rate 150-185 words/min at random. Each utterance is 0.5 s of silence,
the sentence and 1.2 s of silence, streamed in 30 ms frames through ``Engine.stream`` exactly as ``hark listen
--wav`` does (vad endpointing, asr_pocketsphinx, every intent plugin). "noisy": an ESC-50 fold-4 clip (looped)
mixed over the whole utterance at 10 dB SNR (active speech power over noise power).

Reported per condition and overall: WER of the 1-best; intent accuracy with the n-best list (what the engine
does) and with the 1-best alone; slot value accuracy; n-best oracle (the right intent from some hypothesis of the
list parsed on its own); the same sentences typed (the NLU's ceiling); real-time factor (processing time over
audio time, one thread); latency from the true end of speech to the action = the endpointer's wait (stream time)
plus the processing of the frame that ended the utterance (ASR + NLU), p50/p95.

``--oos N`` also speaks N requests no skill handles (benchmarks/data/out_of_scope.txt) and counts the actions
taken on them (out-of-scope false accepts). ``--offset`` skips sentences of the shuffle, so a development set of
other voices and other sentences can be decoded for tuning; ``--save-rows`` keeps every utterance's n-best list and
the recogniser's raw decode, which ``benchmarks/nbest_replay.py`` parses again with other settings in seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from _bench import percentile, plugin_settings, stamp  # noqa: E402
from templates import NOW, values_match  # noqa: E402
from vad import esc50_clips, frame_db, speak  # noqa: E402

from hark import Engine, load_config  # noqa: E402
from hark.plugins.asr_pocketsphinx.compile import speakable  # noqa: E402
from hark.phonetics import edit_distance as word_errors  # noqa: E402  (Levenshtein on words)
from hark.text import tokenize  # noqa: E402
from hark.types import AudioChunk  # noqa: E402
from training.skill_data import out_of_scope_lines  # noqa: E402

SR = 16000
FRAME = 480
#: held out from the tests (which use en-us and en-us+f4); screened on everyday sentences first (see --screen)
VOICES = ["en-us+m3", "en-us+m1", "en-us+f2", "en-gb", "en-gb+f3"]
LEAD_S, TRAIL_S = 0.5, 1.2


def utterance(speech: np.ndarray, noise: np.ndarray | None, snr_db: float) -> tuple[np.ndarray, float]:
    """int16 audio with lead/trail silence (and noise), and the time the speech really ends."""
    lead, trail = np.zeros(int(LEAD_S * SR)), np.zeros(int(TRAIL_S * SR))
    x = np.concatenate([lead, speech, trail])
    db = frame_db(speech)
    active = np.nonzero(db > max(db.max() - 40, -70))[0]
    end = LEAD_S + (active[-1] + 1) * FRAME / SR if len(active) else LEAD_S + len(speech) / SR
    if noise is not None:
        frames = speech[: len(speech) // FRAME * FRAME].reshape(-1, FRAME)
        p_speech = float(np.mean((frames[db[: len(frames)] > db.max() - 40] ** 2)))
        n = np.resize(noise, len(x))
        n = n * np.sqrt(p_speech / (np.mean(n * n) + 1e-12) / 10 ** (snr_db / 10))
        x = x + n
    return np.clip(x * 32768, -32768, 32767).astype(np.int16), end


def run_stream(engine: Engine, pcm: np.ndarray) -> dict:
    """Stream one recording through a new stream (as one device would); collect what happened and how long the
    engine's calls took."""
    out: dict = {"nbest": None, "action": None, "interpretations": [], "end_event": None, "busy": 0.0,
                 "end_cost": 0.0}
    stream = engine.open_stream()
    asr = stream.states.get("asr_pocketsphinx")
    t_end = 0.0
    for i in range(0, len(pcm) + FRAME, FRAME):
        t0 = time.perf_counter()
        if i < len(pcm):
            events = stream.feed(pcm[i:i + FRAME])
            heard = min(len(pcm), i + FRAME) / SR  # stream time once this frame has been heard
        else:
            events = stream.close()
        out["busy"] += time.perf_counter() - t0
        for event in events:
            if event.kind == "speech_end" and out["end_event"] is None:
                out["end_event"] = heard
                out["end_reason"] = event.data.get("reason")
                # a semantic endpoint ("complete") was decided by a judgement that ran before the event: count it
                out["judge_s"] = event.data.get("judge_ms", 0.0) / 1000
                t_end = t0
            elif event.kind == "utterance" and out["nbest"] is None:
                out["nbest"] = event.data.get("nbest") or []
                # the recogniser's raw decode of this (the first) utterance; later segments overwrite last_decode
                out["asr_raw"] = getattr(asr, "last_decode", None)
            elif event.kind == "interpretation" and not out["interpretations"]:
                out["interpretations"] = event.data.get("interpretations") or []
            elif event.kind in ("action", "out_of_scope") and "decided" not in out:
                out["decided"] = True
                out["action"] = event.data if event.kind == "action" else None
                if out["end_event"] is not None:
                    out["end_cost"] = time.perf_counter() - t_end
    return out


def engine_hangover(engine: Engine) -> float:
    vad = engine.pm.get_plugin("vad")
    return vad.settings.silence_ms / 1000 if vad is not None else 0.0


def parse_intent(engine: Engine, text: str, ctx) -> tuple[str | None, dict]:
    r = engine.parse(text, ctx)
    if r.action is None:
        return None, {}
    return f"{r.action.skill}.{r.action.intent}", {s.name: s.value for s in r.action.slots}


def slots_right(expected: dict, got: dict) -> tuple[int, int]:
    ok = sum(1 for k, v in expected.items() if k in got and values_match(v, got[k]))
    return ok, len(expected)


def screen(voices: list[str], tmp: Path) -> None:
    """WER of each voice on everyday sentences through the skill LM (to choose benchmark voices)."""
    engine = Engine(load_config(ROOT / "config.yaml", env={}))
    texts = ["turn off the kitchen lights", "set a timer for ten minutes", "what's the weather like tomorrow",
             "pause the music", "play some jazz", "cancel my timer"]
    for v in voices:
        errs = words = 0
        for t in texts:
            pcm, _ = utterance(speak(t, v, 165, tmp), None, 0)
            nb = engine.transcribe(AudioChunk(pcm.tobytes(), SR))
            ref = speakable(w.text for w in tokenize(t))
            errs += word_errors(ref, nb.best.text.split() if nb else [])
            words += len(ref)
        print(f"{v:24} WER {errs / words:.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=100, help="held-out sentences per voice and condition")
    ap.add_argument("--offset", type=int, default=0,
                    help="skip this many sentences of the fixed shuffle first (a development set disjoint from "
                         "the benchmark's first --sentences)")
    ap.add_argument("--voices", default=",".join(VOICES))
    ap.add_argument("--snr", type=float, default=10.0)
    ap.add_argument("--conditions", default="clean,noisy")
    ap.add_argument("--screen", metavar="VOICES", help="only print each voice's WER on everyday sentences")
    ap.add_argument("--no-streaming", action="store_true",
                    help="decode each utterance after its endpoint instead of while it is spoken")
    ap.add_argument("--fallback", choices=("auto", "always", "never"), help="override the generic-LM fallback")
    ap.add_argument("--nbest", type=int, help="override the recogniser's n-best depth (asr_pocketsphinx.nbest)")
    ap.add_argument("--oos", type=int, default=0, metavar="N",
                    help="also speak N sentences of benchmarks/data/out_of_scope.txt (expected: no action), "
                         "reported apart as out-of-scope false accepts")
    ap.add_argument("--oos-offset", type=int, default=0, help="start at this out-of-scope sentence")
    ap.add_argument("--catalog-only", action="store_true",
                    help="only sentences with a catalog slot (titles, artists, books...)")
    ap.add_argument("--save-rows", type=Path, metavar="FILE",
                    help="also write every utterance (n-best with scores, expected intent and slots) as JSON")
    ap.add_argument("--disable", default="", metavar="PLUGINS",
                    help="comma-separated plugins to switch off for an ablation, e.g. entity_resolver")
    ap.add_argument("--set", action="append", default=[], metavar="PLUGIN.KEY=JSON",
                    help="override a plugin setting, e.g. vad.early_silence_ms=0 (repeatable)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "audio.json")
    args = ap.parse_args()
    if not shutil.which("espeak-ng"):
        sys.exit("espeak-ng is needed (apt-get install espeak-ng, or `make system-deps`)")
    tmp = Path(tempfile.mkdtemp(prefix="hark-audio-bench-"))
    if args.screen:
        screen(args.screen.split(","), tmp)
        return
    voices = args.voices.split(",")
    conditions = args.conditions.split(",")
    esc, esc_note = esc50_clips("test") if "noisy" in conditions else ([], "")
    if "noisy" in conditions and not esc:
        print(f"noisy condition skipped: {esc_note}", file=sys.stderr)
        conditions = [c for c in conditions if c != "noisy"]

    asr_settings: dict = {}
    if args.no_streaming:
        asr_settings["streaming"] = False
    if args.fallback:
        asr_settings["fallback"] = args.fallback
    if args.nbest:
        asr_settings["nbest"] = args.nbest
    overrides = plugin_settings(args.set, {"plugins.settings.asr_pocketsphinx": asr_settings} if asr_settings else {})
    if args.disable:
        overrides["plugins.disabled"] = [p for p in args.disable.split(",") if p]
    engine = Engine(load_config(ROOT / "config.yaml", env={}, **overrides))
    asr = engine.pm.get_plugin("asr_pocketsphinx")
    if asr is None or asr.transcriber is None:
        sys.exit("the asr_pocketsphinx plugin is not running (see `hark doctor`)")
    ctx = engine.context(now=NOW)
    tests = [t for t in engine.skills.tests()]
    if args.catalog_only:  # sentences naming a catalog entry: what the entity resolver is for
        tests = [t for t in tests if any(engine.skills[t.skill].slots[name].type == "catalog" for name in t.slots
                                         if name in engine.skills[t.skill].slots)]
    rng = random.Random(11)
    rng.shuffle(tests)
    tests = tests[args.offset: args.offset + args.sentences]
    oos = out_of_scope_lines("test")[args.oos_offset: args.oos_offset + args.oos]
    items = [(t.text, f"{t.skill}.{t.intent}", dict(t.slots)) for t in tests] + [(text, None, {}) for text in oos]
    # warm-up: first decode loads lattices, first parse warms onnxruntime
    run_stream(engine, utterance(speak("turn on the lights", voices[0], 165, tmp), None, 0)[0])

    rows = []
    load_start = [round(x, 2) for x in os.getloadavg()]
    t_start = time.time()
    for condition in conditions:
        for vi, voice in enumerate(voices):
            vrng = random.Random(f"{voice}-{condition}")
            for ti, (text, expected, expected_slots) in enumerate(items):
                speech = speak(text, voice, vrng.randint(150, 185), tmp)
                noise = None
                if condition == "noisy":
                    noise = esc[vrng.randrange(len(esc))][1]
                pcm, true_end = utterance(speech, noise, args.snr)
                got = run_stream(engine, pcm)
                ref = speakable(w.text for w in tokenize(text))
                hyps = [h["text"] for h in (got["nbest"] or [])]
                best = hyps[0].split() if hyps else []
                action = got["action"]
                intent = f"{action['skill']}.{action['intent']}" if action else None
                slots = {s["name"]: s.get("value") for s in (action or {}).get("slots", [])}
                one_best = parse_intent(engine, hyps[0], ctx) if hyps else (None, {})
                oracle = any(parse_intent(engine, h, ctx)[0] == expected for h in hyps) if expected else True
                s_ok, s_n = slots_right(expected_slots, slots) if intent == expected else (0, len(expected_slots))
                latency = None
                if got["end_event"] is not None:
                    latency = (got["end_event"] - true_end) + got["judge_s"] + got["end_cost"]
                rows.append({
                    "condition": condition, "voice": voice, "text": text, "expected": expected,
                    "heard": hyps[:5], "intent": intent, "one_best_intent": one_best[0],
                    "word_errors": word_errors(ref, best), "ref_words": len(ref),
                    "intent_ok": intent == expected, "one_best_ok": one_best[0] == expected, "oracle_ok": oracle,
                    "slots_ok": s_ok, "slots_n": s_n, "audio_s": len(pcm) / SR, "busy_s": got["busy"],
                    "latency_s": latency, "processing_s": got["end_cost"] + got.get("judge_s", 0.0),
                    "end_reason": got.get("end_reason"),
                    "nbest": got["nbest"], "expected_slots": expected_slots, "asr_raw": got.get("asr_raw"),
                })
                if ti % 20 == 0:
                    done = [r for r in rows if r["condition"] == condition and r["voice"] == voice]
                    print(f"{condition:6} {voice:14} {ti + 1:4}/{len(items)} intent "
                          f"{np.mean([r['intent_ok'] for r in done]):.3f}  ({time.time() - t_start:.0f}s)",
                          flush=True)
    typed_ok = sum(parse_intent(engine, t.text, ctx)[0] == f"{t.skill}.{t.intent}" for t in tests) / len(tests)
    engine.close()
    shutil.rmtree(tmp, ignore_errors=True)

    def summary(everything: list[dict]) -> dict:
        sel = [r for r in everything if r["expected"] is not None]
        neg = [r for r in everything if r["expected"] is None]
        oos = {"out_of_scope_utterances": len(neg),
               "out_of_scope_false_accepts": sum(r["intent"] is not None for r in neg),
               "out_of_scope_false_accepts_1best": sum(r["one_best_intent"] is not None for r in neg)} if neg else {}
        lat = [r["latency_s"] for r in sel if r["latency_s"] is not None]
        proc = [r["processing_s"] for r in sel if r["latency_s"] is not None]
        return {
            "utterances": len(sel),
            "wer": round(sum(r["word_errors"] for r in sel) / max(1, sum(r["ref_words"] for r in sel)), 4),
            "intent_accuracy": round(float(np.mean([r["intent_ok"] for r in sel])), 4),
            "intent_accuracy_1best": round(float(np.mean([r["one_best_ok"] for r in sel])), 4),
            "nbest_oracle_accuracy": round(float(np.mean([r["oracle_ok"] for r in sel])), 4),
            "slot_value_accuracy": round(sum(r["slots_ok"] for r in sel) / max(1, sum(r["slots_n"] for r in sel)), 4),
            "real_time_factor": round(sum(r["busy_s"] for r in sel) / sum(r["audio_s"] for r in sel), 4),
            "end_of_speech_to_action_ms": {"p50": round(1000 * percentile(lat, 0.5)),
                                           "p95": round(1000 * percentile(lat, 0.95))} if lat else None,
            "processing_after_endpoint_ms": {"p50": round(1000 * percentile(proc, 0.5)),
                                             "p95": round(1000 * percentile(proc, 0.95))} if proc else None,
            "ended_complete": round(float(np.mean([r.get("end_reason") == "complete" for r in sel])), 4),
            **oos,
        }

    results = {c: summary([r for r in rows if r["condition"] == c]) for c in conditions}
    per_voice = {c: {v: summary([r for r in rows if r["condition"] == c and r["voice"] == v]) for v in voices}
                 for c in conditions}
    asr_meta = asr.compiled.meta if asr.compiled else {}
    report = {
        "benchmark": "audio",
        "sentences": len(tests),
        **({"out_of_scope_sentences": len(oos)} if oos else {}),
        "voices": voices,
        "conditions": {"clean": "digital silence around the speech",
                       "noisy": f"ESC-50 fold 4 ({esc_note}) at {args.snr:g} dB SNR"},
        "typed_intent_accuracy": round(typed_ok, 4),
        "results": results,
        "per_voice": per_voice,
        "asr": {"status": asr.status, "lm": {k: asr_meta.get(k) for k in ("sentences", "vocabulary", "ngrams",
                                                                          "dropped_sentences")}},
        "vad_silence_ms": engine_hangover(engine) * 1000,
        "settings_overridden": args.set,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    # latencies are wall-clock: other jobs on the machine slow them
                    "load_average_at_start": load_start, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "seconds": round(time.time() - t_start),
        "errors": [{k: v for k, v in r.items() if k != "asr_raw"} for r in rows if not r["intent_ok"]][:60],
    }
    stamp(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if args.save_rows:  # every utterance's n-best list: replays NLU settings without decoding audio again
        args.save_rows.write_text(json.dumps(rows) + "\n")
    for c, s in results.items():
        print(c, json.dumps(s))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
