"""Distillation across tokenizers (training/distill.py): a teacher that splits words differently still hands each
word's slot logits to the student's first piece of that word, and an ensemble is the mean of its teachers; the
last epochs' weights (train_joint --average-last) average element-wise."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="training code needs torch (the [train] extra)")

from training.distill import ensemble, on_student_words  # noqa: E402


class _Pieces:
    """The two fields of training.train_joint.Encoded that word alignment reads."""

    def __init__(self, ids, first):
        self.ids, self.first = ids, first


def test_slot_logits_follow_the_word_not_the_piece_position():
    # 3 words; the teacher splits word 0 in two pieces, the student splits word 1 in three
    teacher_first = [[1, 3, 4]]
    sl = np.zeros((6, 2), dtype=np.float32)
    sl[1], sl[3], sl[4] = [5, 0], [0, 5], [1, 1]
    student = _Pieces(ids=[[0, 11, 12, 13, 14, 15, 2]], first=[[1, 2, 5]])
    moved = on_student_words([sl], teacher_first, student)[0]
    assert moved.shape == (7, 2)
    assert moved[1].tolist() == [5, 0] and moved[2].tolist() == [0, 5] and moved[5].tolist() == [1, 1]
    assert not moved[[0, 3, 4, 6]].any()  # continuation pieces and specials carry nothing


def test_a_word_the_teacher_truncated_gets_a_flat_target():
    sl = np.ones((3, 2), dtype=np.float32)
    moved = on_student_words([sl], [[1, -1]], _Pieces(ids=[[0, 7, 8, 2]], first=[[1, 2]]))[0]
    assert moved[1].tolist() == [1, 1] and moved[2].tolist() == [0, 0]


def test_an_ensemble_is_the_mean_of_its_teachers():
    a = (np.array([[2.0, 0.0]]), [np.array([[1.0, 3.0]])])
    b = (np.array([[0.0, 2.0]]), [np.array([[3.0, 1.0]])])
    il, sl = ensemble([a, b])
    assert il.tolist() == [[1.0, 1.0]] and sl[0].tolist() == [[2.0, 2.0]]


def test_averaging_the_last_epochs_is_the_element_wise_mean_and_keeps_integer_buffers():
    import torch

    from training.train_joint import average_states

    a = {"w": torch.tensor([1.0, 2.0]), "steps": torch.tensor([3])}
    b = {"w": torch.tensor([3.0, 6.0]), "steps": torch.tensor([5])}
    mean = average_states([a, b])
    assert mean["w"].tolist() == [2.0, 4.0] and mean["w"].dtype == torch.float32
    assert mean["steps"].tolist() == [3]  # not a weight: taken from the first state, not averaged
