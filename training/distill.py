"""Distillation: a trained model's logits on the training set, computed once, and the softened KL loss that
pulls a student (a new model, or the same model being quantised) towards them."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .joint_model import JointModel

if TYPE_CHECKING:
    from .train_joint import Encoded

__all__ = ["teacher_logits", "teacher_batch", "distill_loss"]


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
