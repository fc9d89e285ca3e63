"""Train the sentencepiece model the joint intent + slot model reads.

    python -m training.tokenizer --out build/tok --vocab 8000 [--type unigram|bpe]

Corpus: training-side text only (see :func:`training.data.tokenizer_corpus`): SNIPS and ATIS train, HWU64 train,
SLURP devel and LM sentences, TOP train, and sentences expanded from the bundled skills. Never the test splits.
Sentences are normalised with ``hark.text.tokenize`` first, exactly like the runtime, which encodes each word on its
own (``sp.encode(word)``), so every word starts with a "▁" piece.

Special ids: pad 0, bos 1, eos 2, unk 3. Digits are split into single pieces (numbers generalise across values).
"""
from __future__ import annotations

import argparse
import io
import statistics
from pathlib import Path

import sentencepiece as spm

from .data import load_bio, tokenizer_corpus
from .onnx_eval import encode_words

PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3


def train_tokenizer(out_prefix: Path, vocab_size: int = 8000, model_type: str = "unigram",
                    texts: list[str] | None = None) -> Path:
    texts = texts if texts is not None else tokenizer_corpus()
    uniq = sorted(set(texts))  # de-duplicated and sorted: same corpus, same model
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(uniq),
        model_writer=model,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,
        byte_fallback=True,  # characters never seen in training text become byte pieces, not <unk>
        normalization_rule_name="identity",  # hark.text already folded the text (NFKC, lower case, apostrophes)
        split_digits=True,
        pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID, unk_id=UNK_ID,
        num_threads=2,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    path = out_prefix.with_suffix(".model")
    path.write_bytes(model.getvalue())
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("build/tokenizer"))
    ap.add_argument("--vocab", type=int, nargs="+", default=[8000])
    ap.add_argument("--type", default="unigram", choices=["unigram", "bpe"])
    args = ap.parse_args()
    texts = tokenizer_corpus()
    for v in args.vocab:
        path = train_tokenizer(args.out / f"sp{v}", v, args.type, texts)
        sp = spm.SentencePieceProcessor(model_file=str(path))
        for ds in ("snips", "atis"):
            exs = load_bio(ds, "test")
            lens = [len(encode_words(sp, ex.words, 10_000)[0]) for ex in exs]
            unk = sum(i == sp.unk_id() for ex in exs for w in ex.words for i in sp.encode(w))
            print(f"vocab {v}: {ds} test pieces/utterance mean {statistics.mean(lens):.1f} max {max(lens)}, "
                  f"unk pieces {unk}")
        print(path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
