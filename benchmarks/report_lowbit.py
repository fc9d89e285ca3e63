"""The low-bit section of docs/benchmarks.md (benchmarks/lowbit.py -> results/lowbit.json), kept apart from
report.py like report_serve.py."""
from __future__ import annotations

from typing import Any

__all__ = ["lowbit_section"]

ORDER = ["fp32", "float", "int8", "int4_blockwise_ptq", "ptq4", "plain4", "squash4", "ptq3", "plain3", "squash3", "ptq2",
         "plain2", "squash2"]
WHAT = {"fp32": "fp32", "float": "fp32 fine-tuned like the QAT runs (control)", "int8": "int8 dynamic (post-training)", "int4_blockwise_ptq": "4-bit blockwise MatMulNBits "
        "(post-training)", "ptq": "rounded (post-training)", "plain": "plain QAT", "squash": "squashed QAT"}
BUDGET_BYTES = 10_000_000


def _what(name: str) -> str:
    if name in WHAT:
        return WHAT[name]
    mode, bits = name[:-1], name[-1]
    return f"{bits}-bit {WHAT.get(mode, mode)}"


def lowbit_section(rep: Any, table: Any, mark: Any) -> str:
    out = ["## Low-bit intent models (squashed quantisation-aware training)"]
    r = rep.get("lowbit.json")
    if r is None:
        return "\n".join(out + ["", rep.missing("lowbit.json")])
    models = r.data.get("models", {})
    out += ["", "Every variant of a trained model is shipped as a model folder (checksum checked) and scored on the "
                "test split through `Engine.parse`, in a fresh process. 2/3/4-bit files hold packed codes and one "
                "scale per row, which onnxruntime unpacks into int8 when it loads them (docs/decisions.md 41): their "
                "memory and speed are the int8 model's, their size is the bits'. RSS is the scoring process after "
                "loading and parsing; 5-best latency is one thread. Relative loss is (fp32 - variant) / fp32 intent "
                "accuracy."]
    best_in_budget: dict[str, tuple] = {}
    for key, m in models.items():
        rows, variants = [], m.get("variants", {})
        for name in ORDER + sorted(set(variants) - set(ORDER)):
            v = variants.get(name)
            if not v:
                continue
            rows.append([_what(name), f"{v['bytes'] / 1e6:.2f}", f"{v.get('size_vs_fp32', float('nan')):.3f}",
                         f"{v['intent_acc']:.2f}", f"{v.get('intent_rel_loss_pct', float('nan')):+.2f}",
                         f"{v['slot_f1']:.2f}", f"{v['sentence_acc']:.2f}", f"{v['rss_mb']:.0f}",
                         f"{v['nbest5_ms']['p50']:.1f}"])
            if v["bytes"] <= BUDGET_BYTES:
                ds = m.get("dataset", key.split("/")[0])
                score = (v["sentence_acc"], v["slot_f1"], v["intent_acc"])
                if ds not in best_in_budget or score > best_in_budget[ds][0]:
                    best_in_budget[ds] = (score, key, name, v)
        cfg = m.get("config") or {}
        shape = (f"{cfg.get('n_layers', '?')} layers, d={cfg.get('d_model', '?')}" if cfg else "")
        out += ["", f"**{key}** ({shape}{', ' if shape else ''}{(m.get('parameters') or 0) / 1e6:.1f} M parameters)",
                "", table(["variant", "MB", "× fp32 size", "intent %", "rel. loss %", "slot F1", "sentence %",
                           "RSS MB", "5-best p50 ms"], rows)]
        fp32 = variants.get("fp32")
        if fp32:
            for bits, limit in (("4", 0.3), ("2", 1.0)):
                v = variants.get(f"squash{bits}")
                if v:
                    rep.target("low-bit", f"{key}: squashed {bits}-bit ≤ {limit} % relative intent loss vs fp32",
                               f"{v['intent_rel_loss_pct']:+.2f} %", v["intent_rel_loss_pct"] <= limit)
            v = variants.get("squash2")
            if v:
                rep.target("low-bit", f"{key}: 2-bit file ≤ 1/10 of fp32", f"{v['size_vs_fp32']:.3f}",
                           v["size_vs_fp32"] <= 0.1)
    snips = best_in_budget.get("snips")
    if snips:
        _, key, name, v = snips
        got = f"{v['intent_acc']:.2f} / {v['slot_f1']:.2f} / {v['sentence_acc']:.2f} ({key} {name})"
        rep.target("low-bit", "SNIPS within 10 MB: intent ≥ 99.0, slot F1 ≥ 96.0, sentence ≥ 90", got,
                   v["intent_acc"] >= 99.0 and v["slot_f1"] >= 96.0 and v["sentence_acc"] >= 90.0)
    out += ["", rep.source(r)]
    return "\n".join(out)
