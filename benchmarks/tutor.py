"""Pronunciation tutor benchmark -> benchmarks/results/tutor.json: synthetic MDD and real-speech prompt swaps.

    python benchmarks/tutor.py                      # both parts (needs HARK_DATA and espeak-ng; ~10 min)
    python benchmarks/tutor.py --part swap --limit 100

(a) **Synthetic MDD**: the held-out L2-ARCTIC speakers' (``L2ARCTIC_TEST_SPEAKERS``) human-perceived phone
    sequences, spoken by espeak-ng with the held-out voices (``VOICES["test"]``), assessed against the canonical
    sequence. A canonical phone is mispronounced when the annotators perceived another phone or none in its place
    (Levenshtein alignment). Detection precision / recall / F1 over canonical phones, and diagnosis accuracy (the
    heard phone named right, among the caught substitutions). Utterances with an unnamed phone (``err``) are
    skipped: nothing can say it.
(b) **Prompt swap on real speech** (speechocean762's test clips, Mandarin L1 adults and children, without the
    fifth of speakers the word-GOP fusion was tuned on, ``tutor_data.dev_speaker``): each clip is
    scored against its prompt and against the prompt with one word swapped for a word of its lexicon with as many
    phones (+-1) and at least 60 % of them different. AUC of the utterance score (true prompt above swapped) and of
    the word score (the original word under the true prompt above the swapped word), and the false alarms on true
    prompts (words flagged, utterances with any word flagged).
(c) CPU seconds per second of audio of the assessment (phone model + scoring), one thread.

Everything runs the shipped model and settings: the prompt swaps through ``Engine.assess_pronunciation``, the
synthetic part through the plugin's ``Assessor`` (its prompts are phone sequences, not text).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from _bench import stamp  # noqa: E402

from hark import Engine, load_config  # noqa: E402
from hark.features import log_mel  # noqa: E402
from hark.phonetics import edit_distance  # noqa: E402
from hark.types import AudioChunk  # noqa: E402
from training import tutor_data as td  # noqa: E402


def auc(positive: list[float], negative: list[float]) -> float:
    """P(a positive scores above a negative), ties count half (Mann-Whitney)."""
    pos, neg = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def make_engine() -> Engine:
    return Engine(load_config(ROOT / "config.yaml", env={}, **{
        "plugins.disabled": ["asr_pocketsphinx", "intent", "entity_resolver", "scene_context"]}))


# ----------------------------------------------------------------------------------------------- (a) synthetic


def synthetic(engine: Engine, limit: int | None) -> dict:
    return synthetic_mdd(engine.pm.get_plugin("tutor").assessor, limit)


def synthetic_mdd(assessor, limit: int | None) -> dict:
    """(a) with any Assessor (training/tutor_ablation.py scores its arms with it)."""
    rows = [r for r in td.l2arctic("test") if "ERR" not in r[2]][:limit]
    tp = fp = fn = tn = diagnosed = caught_subs = 0
    seconds = 0.0
    for k, (utt, canonical, perceived) in enumerate(rows):
        voice = td.VOICES["test"][k % len(td.VOICES["test"])]
        audio = np.concatenate([np.zeros(4000, np.int16), td.synthesize(td.syllables(perceived), voice),
                                np.zeros(4000, np.int16)])
        seconds += len(audio) / 16000
        words = [(f"syllable{i}", s) for i, s in enumerate(td.syllables(canonical))]
        gops = assessor.sphinx.word_gops(audio, [p for _, p in words]) if assessor.sphinx is not None else None
        report = assessor.assess_features(log_mel(audio).log_mel, utt, words, gops)
        said = td.phone_edits(canonical, perceived)
        verdicts = [p for w in report.words for p in w.phones]
        for truth, expected, verdict in zip(said, canonical, verdicts):
            wrong, flagged = truth != expected, verdict.verdict != "ok"
            tp += wrong and flagged
            fp += flagged and not wrong
            fn += wrong and not flagged
            tn += not wrong and not flagged
            if wrong and flagged and truth is not None and verdict.verdict == "substitution":
                caught_subs += 1
                diagnosed += verdict.heard == truth
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"utterances": len(rows), "speakers": list(td.L2ARCTIC_TEST_SPEAKERS), "voices": list(td.VOICES["test"]),
            "audio_seconds": round(seconds, 1), "canonical_phones": tp + fp + fn + tn,
            "mispronounced_phones": tp + fn, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 4),
            "diagnosis_accuracy": round(diagnosed / max(caught_subs, 1), 4), "caught_substitutions": caught_subs}


# ----------------------------------------------------------------------------------------------- (b) prompt swap


def _lexicon(data: Path) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for line in (data / "speechocean762" / "resource" / "lexicon.txt").read_text().splitlines():
        word, _, phones = line.partition("\t")
        if word and phones and word.lower() not in out:
            out[word.lower()] = tuple("".join(c for c in p if not c.isdigit()) for p in phones.split())
    return out


def swap_prompt(words: list[str], lexicon: dict[str, tuple[str, ...]], g2p, seed: str) -> tuple[int, str] | None:
    """(position, new word): one word of two or more phones swapped for a lexicon word of about its length that
    shares at most 40 % of its phones (edit distance), chosen by a hash of ``seed``."""
    rng = random.Random(zlib.crc32(seed.encode()))
    phones = g2p.phonemes_many(words)
    positions = [i for i, p in enumerate(phones) if len(p) >= 2]
    if not positions:
        return None
    i = rng.choice(positions)
    old = phones[i]
    pool = [w for w, p in lexicon.items() if abs(len(p) - len(old)) <= 1 and w != words[i]
            and edit_distance(p, old) >= 0.6 * max(len(p), len(old))]
    return (i, rng.choice(sorted(pool))) if pool else None


def prompt_swap(engine: Engine, data: Path, limit: int | None) -> dict:
    import soundfile

    from hark.phonetics import G2P, text_words

    g2p, lexicon = G2P.default(), _lexicon(data)
    lines = (data / "speechocean762" / "test_subset_750.tsv").read_text().splitlines()[1:]
    true_utt, swap_utt, true_word, swap_word = [], [], [], []
    flagged_words = words_total = flagged_utts = 0
    cpu = audio_s = 0.0
    used = 0
    dev = 0
    for line in lines[:limit]:
        utt, speaker, _age, _gender, text, rel = line.split("\t")
        if td.dev_speaker(speaker):  # the word-GOP fusion was tuned on these speakers
            dev += 1
            continue
        words = text_words(text)
        swap = swap_prompt(words, lexicon, g2p, utt)
        if swap is None:
            continue
        pos, new = swap
        samples, rate = soundfile.read(data / "speechocean762" / rel, dtype="int16")
        assert rate == 16000
        chunk = AudioChunk(samples.tobytes())
        t0 = time.process_time()
        true = engine.assess_pronunciation(chunk, " ".join(words))
        cpu += time.process_time() - t0
        audio_s += len(samples) / 16000
        swapped = engine.assess_pronunciation(chunk, " ".join(words[:pos] + [new] + words[pos + 1:]))
        if true is None or swapped is None:
            raise SystemExit("the tutor plugin did not assess a clip: is its model there? (hark plugins)")
        used += 1
        true_utt.append(true.score)
        swap_utt.append(swapped.score)
        by_word_true = [w for w in true.words]
        by_word_swap = [w for w in swapped.words]
        if len(by_word_true) == len(words) and len(by_word_swap) == len(words):
            true_word.append(by_word_true[pos].score)
            swap_word.append(by_word_swap[pos].score)
        flagged_words += sum(not w.ok for w in true.words)
        words_total += len(true.words)
        flagged_utts += any(not w.ok for w in true.words)
    return {"clips": used, "dev_speaker_clips_skipped": dev, "utterance_auc": round(auc(true_utt, swap_utt), 4),
            "word_auc": round(auc(true_word, swap_word), 4), "word_pairs": len(true_word),
            "true_prompt_words_flagged": round(flagged_words / max(words_total, 1), 4),
            "true_prompt_utterances_flagged": round(flagged_utts / max(used, 1), 4),
            "cpu_seconds_per_audio_second": round(cpu / max(audio_s, 1e-9), 4), "audio_seconds": round(audio_s, 1)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("all", "synthetic", "swap"), default="all")
    ap.add_argument("--limit", type=int, help="at most this many utterances per part (a quick look)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tutor.json")
    args = ap.parse_args(argv)
    data = td._data_dir()
    engine = make_engine()
    plugin = engine.pm.get_plugin("tutor")
    if plugin is None or plugin.assessor is None:
        raise SystemExit(f"the tutor plugin has no model: {getattr(plugin, 'status', 'not loaded')}")
    result: dict = {"model": plugin.status, "margin": plugin.assessor.margin}
    t0 = time.time()
    if args.part in ("all", "synthetic"):
        result["synthetic"] = synthetic(engine, args.limit)
        s = result["synthetic"]
        print(f"synthetic: P {s['precision']} R {s['recall']} F1 {s['f1']} diagnosis {s['diagnosis_accuracy']} "
              f"({time.time() - t0:.0f} s)", flush=True)
    if args.part in ("all", "swap"):
        result["prompt_swap"] = prompt_swap(engine, data, args.limit)
        s = result["prompt_swap"]
        print(f"prompt swap: utterance AUC {s['utterance_auc']}, word AUC {s['word_auc']}, true words flagged "
              f"{s['true_prompt_words_flagged']}, CPU {s['cpu_seconds_per_audio_second']} s/s "
              f"({time.time() - t0:.0f} s)", flush=True)
    engine.close()
    if args.limit:
        result["limit"] = args.limit
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(stamp(result), indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
