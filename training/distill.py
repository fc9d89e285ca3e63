"""Distillation: a trained model's logits on the training set, computed once, and the softened KL loss that
pulls a student (a new model, or the same model being quantised) towards them."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .joint_model import JointModel, load_trained

if TYPE_CHECKING:
    from .train_joint import Encoded

__all__ = ["load_teachers", "teacher_logits", "on_student_words", "ensemble", "teacher_batch", "distill_loss"]


@torch.no_grad()
def teacher_logits(model: JointModel, data: Encoded, pad_id: int, bs: int = 64):
    """(intent logits [N, n_intents], per example slot logits [len_i, n_tags]) of a teacher, in eval mode."""
    model.eval()
    il_all = np.zeros((len(data), model.cfg.n_intents), dtype=np.float32)
    sl_all: list = [None] * len(data)
    order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
    for s in tqdm(range(0, len(order), bs), desc="teacher", file=sys.stderr, mininterval=5):
        idx = order[s:s + bs]
        ids, mask, _, _ = data.batch(idx, pad_id)
        il, sl = model(ids, mask)
        for r, i in enumerate(idx):
            il_all[i] = il[r].numpy()
            sl_all[i] = sl[r, : len(data.ids[i])].numpy().copy()
    return il_all, sl_all


def on_student_words(sl_all: list, teacher_first: list[list[int]], student: Encoded) -> list:
    """A teacher's slot logits moved onto the student's pieces, word by word.

    Slots are labelled on each word's first piece, so two tokenizers agree on words even where they split them
    differently: word w's logits go from the teacher's first piece of w to the student's. A word one side
    truncated gets zeros (a flat target) on the student side."""
    out = []
    for i, sl in enumerate(sl_all):
        moved = np.zeros((len(student.ids[i]), sl.shape[-1]), dtype=np.float32)
        for tj, sj in zip(teacher_first[i], student.first[i]):
            if tj >= 0 and sj >= 0:
                moved[sj] = sl[tj]
        out.append(moved)
    return out


def ensemble(teachers: list):
    """The mean logits of several teachers (all already on the student's pieces)."""
    il = np.mean([t[0] for t in teachers], axis=0)
    sl = [np.mean([t[1][i] for t in teachers], axis=0) for i in range(len(teachers[0][1]))]
    return il, sl


def load_teachers(paths: list[Path], student: Encoded, sp: spm.SentencePieceProcessor, intents: list[str],
                  tags: list[str]):
    """The mean logits of the trained builds at ``paths`` (their model.pt) on the student's training set.

    A teacher may use another tokenizer (its build's tokenizer.model): it then reads the sentences its own way and
    its slot logits are moved onto the student's pieces by word."""
    teachers = []
    for path in paths:
        tmodel, t_intents, t_tags, t_sp = load_trained(path)
        if t_intents != intents or t_tags != tags:
            raise SystemExit(f"teacher {path} was trained on other labels than this data set")
        if t_sp.serialized_model_proto() == sp.serialized_model_proto():
            teachers.append(teacher_logits(tmodel, student, sp.pad_id()))
            continue
        seen = type(student)(student.examples, t_sp, intents, tags, tmodel.cfg.max_len)
        il, sl = teacher_logits(tmodel, seen, t_sp.pad_id())
        teachers.append((il, on_student_words(sl, seen.first, student)))
    return ensemble(teachers)


def teacher_batch(teacher, idx: list[int], t: int):
    il_all, sl_all = teacher
    ts = torch.zeros((len(idx), t, sl_all[idx[0]].shape[-1]))
    for r, i in enumerate(idx):
        ts[r, : len(sl_all[i])] = torch.from_numpy(sl_all[i])
    return torch.from_numpy(il_all[idx]), ts


def distill_loss(il, sl, ti, ts, mask, temp: float, slot_weight: float) -> torch.Tensor:
    """T^2 * KL(teacher || student) on softened distributions: intent, and slots at labelled positions."""
    kl_i = F.kl_div(F.log_softmax(il / temp, -1), F.log_softmax(ti / temp, -1), log_target=True,
                    reduction="batchmean")
    m = mask.reshape(-1)
    s_lp = F.log_softmax(sl.reshape(-1, sl.shape[-1])[m] / temp, -1)
    t_lp = F.log_softmax(ts.reshape(-1, ts.shape[-1])[m] / temp, -1)
    kl_s = F.kl_div(s_lp, t_lp, log_target=True, reduction="batchmean")
    return temp * temp * (kl_i + slot_weight * kl_s)
