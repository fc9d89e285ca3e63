"""Real recognition errors for training-side sentences: espeak-ng says them, pocketsphinx hears them.

Why (issue 20): the SLURP model is trained on typed sentences and judged on a recogniser's 1-best, where most of
its remaining errors are words the recogniser lost or changed. Training on what a recogniser makes of the training
sentences teaches the model those errors. SLURP's own recogniser output exists only for the test half, which
never enters training, so the errors here come from our own recogniser:

- a trigram language model of the training side's text (SLURP's LM sentences and the training sentences, never a
  test_dev or valid sentence), so it errs as an in-domain recogniser does, inside the domain's words;
- espeak-ng voices at 150-185 words a minute, under pink noise at 5-30 dB SNR (SLURP has far-field recordings);
- pocketsphinx's 1-best of each utterance.

``python -m training.asr_hypotheses --split train --n 4000`` writes ``build/asr_hyps/slurp_train.tsv`` (reference
words, voice, SNR, hypothesis); ``--split valid`` uses other voices. ``transfer_tags`` carries a reference's BIO
tags over to its hypothesis by a word alignment.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "asr_hyps"
TRAIN_VOICES = ["en-us+m5", "en-us+m6", "en-us+m7", "en-us+f1", "en-us+f3", "en-gb+m3", "en-gb-x-rp"]
VALID_VOICES = ["en-us+m4", "en-gb+m2"]  # the development voices of benchmarks/endpointing.py, never training

__all__ = ["transfer_tags", "align_words", "read_hypotheses"]


# ------------------------------------------------------------------------------------------- tag transfer

def _sub_cost(a: str, b: str) -> float:
    """0 for the same word; 0.3-1 for others, less the more letters they share ("beatles" heard as "beetles")."""
    return 0.0 if a == b else 1.0 - 0.7 * SequenceMatcher(None, a, b).ratio()


def align_words(ref: list[str], hyp: list[str]) -> list[tuple[int | None, int | None]]:
    """Levenshtein alignment of two word lists, a substitution costing less between similar spellings:
    (ref index or None, hyp index or None) pairs in order."""
    n, m = len(ref), len(hyp)
    sub = [[_sub_cost(a, b) for b in hyp] for a in ref]
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + sub[i - 1][j - 1], cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    out: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        if i and j and np.isclose(cost[i, j], cost[i - 1, j - 1] + sub[i - 1][j - 1]):
            out.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i and np.isclose(cost[i, j], cost[i - 1, j] + 1):
            out.append((i - 1, None))
            i -= 1
        else:
            out.append((None, j - 1))
            j -= 1
    return out[::-1]


def transfer_tags(ref: list[str], tags: list[str], hyp: list[str]) -> list[str]:
    """BIO tags for ``hyp`` from ``ref``'s: an aligned word takes its reference word's tag, an inserted word
    continues the entity around it (else O), and every I- that follows no word of its entity becomes a B-."""
    out: list[str | None] = [None] * len(hyp)
    pairs = align_words(ref, hyp)
    for k, (i, j) in enumerate(pairs):
        if j is None:
            continue
        if i is not None:
            out[j] = tags[i]
            continue
        prev = next((tags[a] for a, _ in reversed(pairs[:k]) if a is not None), "O")
        nxt = next((tags[a] for a, _ in pairs[k + 1:] if a is not None), "O")
        inside = prev != "O" and nxt.startswith("I-") and prev[2:] == nxt[2:]
        out[j] = f"I-{prev[2:]}" if inside else "O"
    fixed: list[str] = []
    for tag in out:
        tag = tag or "O"
        if tag.startswith("I-") and (not fixed or fixed[-1] == "O" or fixed[-1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        fixed.append(tag)
    return fixed


def read_hypotheses(path: Path) -> dict[str, list[str]]:
    """reference words (space-joined) -> every hypothesis heard for it (words)."""
    out: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        ref, _voice, _snr, hyp = line.split("\t")
        out.setdefault(ref, []).append(hyp)
    return out


# ------------------------------------------------------------------------------------------- recognition

def _recogniser(sentences: list[list[str]], folder: Path) -> tuple[Path, Path]:
    """A trigram ARPA model of ``sentences`` and a dictionary of its words (CMUdict, compounds, then g2p)."""
    import pocketsphinx

    from hark.plugins.asr_pocketsphinx import g2p_or_none
    from hark.plugins.asr_pocketsphinx.compile import Lexicon, dictionary_text, speakable
    from hark.plugins.asr_pocketsphinx.lm import NgramModel

    lexicon = Lexicon(Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict", g2p_or_none())
    kept = [tuple(w) for w in (speakable(s) for s in sentences) if w and all(lexicon.pronounce(x) for x in w)]
    model = NgramModel(kept, order=3)
    folder.mkdir(parents=True, exist_ok=True)
    lm, dic = folder / "lm.arpa", folder / "lm.dict"
    lm.write_text(model.to_arpa(), encoding="utf-8")
    dic.write_text(dictionary_text(model.vocabulary, lexicon), encoding="utf-8")
    print(f"recogniser: {len(kept)} sentences, {len(model.vocabulary)} words", file=sys.stderr)
    return lm, dic


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS 1/f noise down to the lowest bin: what decision 47's hypotheses were made with
    (scene_data's coloured noise cuts below 20 Hz, which changes what the recogniser hears)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1))
    x = np.fft.irfft(spec, n)
    return x / (np.sqrt(np.mean(x * x)) + 1e-12)


def _hear(job: tuple[list[tuple[int, str, str, int, float]], str, str]) -> list[tuple[int, str]]:
    """One worker: say and decode each (index, text, voice, rate, snr) with its own decoder."""
    import pocketsphinx
    from pocketsphinx import Decoder

    from hark.audio import read_wav
    from hark.plugins.asr_pocketsphinx.transcriber import decode

    items, lm, dic = job
    decoder = Decoder(hmm=str(Path(pocketsphinx.get_model_path()) / "en-us" / "en-us"), lm=lm, dict=dic,
                      loglevel="FATAL")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        for k, (index, text, voice, rate, snr) in enumerate(items):
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(wav), text], check=True,
                           capture_output=True)
            x = read_wav(wav).astype(np.float64) / 32768.0
            rng = np.random.default_rng(index)
            x = np.concatenate([np.zeros(4000), x, np.zeros(4000)])
            level = np.sqrt(np.mean(x[np.abs(x) > 1e-3] ** 2)) if np.any(np.abs(x) > 1e-3) else 0.1
            x = x + _pink(len(x), rng) * level * 10 ** (-snr / 20)
            pcm = np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)
            rows, _ = decode(pcm, decoder, 1, lattice=False)  # the best path alone
            out.append((index, rows[0][0] if rows else ""))
            if k % 200 == 0:
                print(f"  worker {os.getpid()}: {k}/{len(items)}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> None:
    from multiprocessing import Pool

    from hark.phonetics import edit_distance
    from training.data import slurp_lm_texts
    from training.slurp_data import normalise, slurp_splits, test_dev_sentences

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("train", "valid"), default="train")
    ap.add_argument("--n", type=int, default=4000, help="sentences to say and hear (a random sample)")
    ap.add_argument("--snr", default="5,30", help="pink-noise SNR range, dB")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--score", type=Path, metavar="BUILD", help="instead: intent accuracy of a trained build on the "
                    "valid sentences typed and heard (needs --split valid's TSV)")
    args = ap.parse_args(argv)
    if args.score:
        print(json.dumps({"build": str(args.score), **score(args.score, args.out or OUT / "slurp_valid.tsv")}))
        return
    out = args.out or OUT / f"slurp_{args.split}.tsv"
    train, valid, _ = slurp_splits()
    held = test_dev_sentences() | {" ".join(e.words) for e in valid}
    lm_text = [t.split() for t in sorted({normalise(t) for t in slurp_lm_texts()} - held - {""})]
    lm_text += [e.words for e in train]
    lm, dic = _recogniser(lm_text, OUT / "recogniser")
    rng = random.Random(args.seed)
    pool = train if args.split == "train" else valid
    chosen = rng.sample(pool, min(args.n, len(pool)))
    voices = TRAIN_VOICES if args.split == "train" else VALID_VOICES
    lo, hi = (float(v) for v in args.snr.split(","))
    items = [(k, " ".join(e.words), rng.choice(voices), rng.randint(150, 185), round(rng.uniform(lo, hi), 1))
             for k, e in enumerate(chosen)]
    t0 = time.time()
    with Pool(args.workers) as p:
        heard = dict(h for part in p.map(_hear, [(items[w::args.workers], str(lm), str(dic))
                                                 for w in range(args.workers)]) for h in part)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = ["reference\tvoice\tsnr_db\thypothesis"]
    rows += [f"{text}\t{voice}\t{snr}\t{heard[k]}" for k, text, voice, _rate, snr in items]
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    errors = sum(edit_distance(t.split(), heard[k].split()) for k, t, *_ in items)
    words = sum(len(t.split()) for _, t, *_ in items)
    print(f"wrote {out}: {len(items)} utterances, WER {errors / max(words, 1):.3f} ({time.time() - t0:.0f} s)")


def score(build: Path, tsv: Path, model_file: str = "model.fp32.onnx") -> dict:
    """Intent accuracy of ``build`` on the valid sentences as typed and as our recogniser heard them (``tsv`` of
    ``--split valid``): how a choice between training recipes can see ASR robustness without SLURP's test half."""
    from training.onnx_eval import OnnxJoint
    from training.slurp_data import normalise, slurp_splits

    _, valid, _ = slurp_splits()
    by_words = {" ".join(e.words): e for e in valid}
    refs, hyps, gold = [], [], []
    for ref, heard in read_hypotheses(tsv).items():
        ex = by_words[ref]  # a KeyError here means the TSV is not of this valid split
        for hyp in heard:
            refs.append(ex.words)
            hyps.append(normalise(hyp).split() or ["<empty>"])
            gold.append(ex.intent)
    model = OnnxJoint(build, model_file, threads=2)
    out = {}
    for name, batch in (("typed", refs), ("heard", hyps)):
        parsed = [p for s in range(0, len(batch), 64) for p in model.parse(batch[s:s + 64])]
        out[name] = round(100 * sum(p.intent == g for p, g in zip(parsed, gold)) / len(gold), 2)
    out["n"] = len(gold)
    return out


if __name__ == "__main__":
    main()
