"""A sentencepiece model whose pieces are MiniLM's own WordPiece tokens, so every piece starts from its pretrained
embedding exactly (issue 20: spend the low-bit room on the pretrained vocabulary).

    python -m training.wordpiece_vocab --out build/wp.model
    python -m training.train_joint --dataset snips --tokenizer build/wp.model ...

The trained unigram tokenizer (training/tokenizer.py, 6,000 pieces) is shared by the benchmark models, but only
77 % of its pieces are one MiniLM token; the rest start from a mean of several or from the table's mean
(joint_model.transfer_embeddings). Here each WordPiece token becomes a piece: ``word`` as ``▁word``, ``##ing`` as
``ing``. The runtime still only needs sentencepiece. Segmentation is a unigram Viterbi, not WordPiece's greedy
longest match; every piece scores -1 plus a small bonus growing with the square of its length, so the fewest
pieces win and, among those, the split with the longest piece (what greedy matching mostly finds).

Pieces no training-side sentence uses (other scripts, ``[unused]`` slots) are dropped: the table then holds only
what hark's text can reach. The corpus is training/data.tokenizer_corpus (train splits and unannotated training
text only). Special ids (pad 0, bos 1, eos 2, unk 3), byte fallback and digit splitting are those of the trained
tokenizer, so the runtime's encoding contract is unchanged.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

from .data import tokenizer_corpus
from .joint_model import minilm_dir
from .tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID

__all__ = ["wordpiece_model"]

_NORMAL, _UNKNOWN, _CONTROL, _BYTE = 1, 2, 3, 6


def _pieces(vocab: list[str]) -> list[str]:
    """WordPiece tokens as sentencepiece pieces, specials and ``[unused]`` slots left out, order kept."""
    out, seen = [], set()
    for token in vocab:
        if token.startswith("[") and token.endswith("]"):
            continue
        piece = token[2:] if token.startswith("##") else "\u2581" + token
        if piece and piece not in seen and " " not in piece:
            seen.add(piece)
            out.append(piece)
    return out


def _proto(pieces: list[str]) -> pb.ModelProto:
    m = pb.ModelProto()
    t = m.trainer_spec
    t.model_type = pb.TrainerSpec.UNIGRAM
    t.vocab_size = 4 + 256 + len(pieces)
    t.character_coverage, t.split_digits, t.byte_fallback = 1.0, True, True
    t.pad_id, t.bos_id, t.eos_id, t.unk_id = PAD_ID, BOS_ID, EOS_ID, UNK_ID
    n = m.normalizer_spec
    n.name, n.add_dummy_prefix, n.remove_extra_whitespaces, n.escape_whitespaces = "identity", True, True, True
    specials = {PAD_ID: ("<pad>", _CONTROL), BOS_ID: ("<s>", _CONTROL), EOS_ID: ("</s>", _CONTROL),
                UNK_ID: ("<unk>", _UNKNOWN)}
    for i in range(4):
        p = m.pieces.add()
        p.piece, p.type = specials[i]
        p.score = 0.0
    for b in range(256):
        p = m.pieces.add()
        p.piece, p.score, p.type = f"<0x{b:02X}>", 0.0, _BYTE
    for piece in pieces:
        p = m.pieces.add()
        p.piece, p.type = piece, _NORMAL
        p.score = -1.0 + 0.001 * len(piece.lstrip("\u2581")) ** 2
    return m


def wordpiece_model(out: Path, texts: list[str] | None = None) -> tuple[Path, dict]:
    """Write the model to ``out``; returns it and counts (WordPiece tokens, pieces kept)."""
    vocab = (minilm_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    pieces = _pieces(vocab)
    full = spm.SentencePieceProcessor(model_proto=_proto(pieces).SerializeToString())
    texts = texts if texts is not None else tokenizer_corpus()
    used: Counter = Counter()
    for text in sorted(set(texts)):
        for word in text.split():
            used.update(full.encode(word, out_type=str))
    kept = [p for p in pieces if used[p]]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(_proto(kept).SerializeToString())
    return out, {"wordpiece_tokens": len(vocab), "pieces": len(pieces), "kept": len(kept),
                 "vocab_size": 4 + 256 + len(kept)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("build/wp.model"))
    args = ap.parse_args()
    path, stats = wordpiece_model(args.out)
    print(f"wrote {path}: {stats}", file=sys.stderr)


if __name__ == "__main__":
    main()
