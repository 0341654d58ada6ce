"""From an audio folder to a model that speaks: preprocess, train a small Llama, generate, decode every span to wav.

python scripts/train_tiny_lm.py data/ --out run/ --model demo --codebooks 2 --steps 300
    data/: audio files, optionally with metadata.jsonl ({"file_name": "a.wav", "text": "..."} per line)

The steps, in order (each a public audiotok or transformers call; see the README's training walkthrough):
1. ``audiotok.job.run``: audio folder -> token shards (codes) + audiotok_config.json;
2. a text tokenizer (``--text-tokenizer``, or a small byte-level BPE trained on the transcripts) extended with
   ``extend_tokenizer``; ``load_token_dataset`` gives text ids followed by each clip's audio span;
3. a small ``LlamaForCausalLM`` built from a ``LlamaConfig`` and extended with ``extend_model``, trained with
   ``Trainer`` on the audio part (labels -100 on the text prompt);
4. ``model.generate`` from each text prompt + ``<|audio_start|>`` with ``AudioLogitsProcessor``, stopping at
   ``<|audio_end|>``;
5. ``decode_mixed_output(errors="strict")``: every generated span -> a wav file.
Writes OUT/tokens/, OUT/model/ (model, tokenizer, audiotok config), OUT/generated/*.wav and OUT/summary.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    LlamaConfig,
    LlamaForCausalLM,
    LogitsProcessorList,
    PreTrainedTokenizerFast,
    Trainer,
    TrainingArguments,
)

from audiotok import (
    AudioLogitsProcessor,
    AudioTokenizer,
    TokenizerConfig,
    decode_mixed_output,
    extend_model,
    extend_tokenizer,
    load_token_dataset,
)
from audiotok.config import CONFIG_NAME
from audiotok.job import Options, run
from audiotok.mixed import IGNORE_INDEX


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="audio folder (optionally with metadata.jsonl holding a 'text' column)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--model", default="demo", help="codec: hub id, directory or 'demo' (default)")
    parser.add_argument("--codebooks", type=int, default=2, help="codebooks per frame (default 2)")
    parser.add_argument("--layout", default="interleaved", help="id layout (default interleaved)")
    parser.add_argument("--text-tokenizer", help="a Hugging Face tokenizer directory (default: train a small BPE)")
    parser.add_argument("--hidden", type=int, default=64, help="Llama hidden size (default 64)")
    parser.add_argument("--layers", type=int, default=2, help="Llama layers (default 2)")
    parser.add_argument("--steps", type=int, default=200, help="training steps (default 200)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--max-frames", type=int, default=50, help="most frames per generated span (default 50)")
    parser.add_argument("--device", default="cpu", help="device for the codec (training uses Trainer's choice)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def text_tokenizer(args: argparse.Namespace, texts: list[str]) -> Any:
    """The user's tokenizer, or a small byte-level BPE trained on the transcripts."""
    if args.text_tokenizer:
        return AutoTokenizer.from_pretrained(args.text_tokenizer)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<pad>", "<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(texts or ["audio"], trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", bos_token="<s>", eos_token="</s>")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    tokens = out / "tokens"

    # 1. audio folder -> token shards (codes); a folder with metadata.jsonl keeps its transcripts
    source = args.data if ":" in args.data else f"audiofolder:{args.data}"
    has_text = (Path(args.data) / "metadata.jsonl").exists()
    run(
        Options(
            source=source,
            out=str(tokens),
            model=args.model,
            num_codebooks=args.codebooks,
            keep_columns=["text"] if has_text else [],
            device=args.device,
            encoders=1,
        )
    )

    # 2. text tokenizer + audio tokens; the dataset: text ids, then the clip's audio span
    shard_config = TokenizerConfig.from_pretrained(tokens / CONFIG_NAME).replace(layout=args.layout)
    texts = _texts(tokens) if has_text else []
    hf_tok = text_tokenizer(args, texts)
    base_size = len(hf_tok)
    config = extend_tokenizer(hf_tok, shard_config.replace(vocab_offset=0, base_vocab_size=0))
    column = {"text_column": "text", "text_tokenizer": hf_tok} if has_text else {}
    dataset = load_token_dataset(tokens, layout=args.layout, vocab_offset=config.vocab_offset, **column)
    dataset = dataset.map(lambda row: _example(row, hf_tok.bos_token_id), remove_columns=dataset.column_names)

    # 3. a small Llama, extended with the audio rows, trained on the audio part
    llama = LlamaConfig(
        vocab_size=base_size,
        hidden_size=args.hidden,
        intermediate_size=2 * args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        bos_token_id=hf_tok.bos_token_id,
        eos_token_id=hf_tok.eos_token_id,
        pad_token_id=hf_tok.pad_token_id,
    )
    model = extend_model(LlamaForCausalLM(llama), config, init="normal")
    training = TrainingArguments(
        output_dir=str(out / "trainer"),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup_steps=max(1, args.steps // 10),
        logging_steps=max(1, args.steps // 10),
        save_strategy="no",
        report_to=[],
        seed=args.seed,
        disable_tqdm=True,
    )
    collator = DataCollatorForSeq2Seq(hf_tok, padding=True, label_pad_token_id=IGNORE_INDEX)
    trainer = Trainer(model=model, args=training, train_dataset=dataset, data_collator=collator)
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    model_dir = out / "model"
    trainer.save_model(str(model_dir))
    hf_tok.save_pretrained(model_dir)
    config.save_pretrained(model_dir)

    # 4. generate from text prompts, the processor keeping every audio span decodable
    processor = AudioLogitsProcessor(config, min_frames=1, max_frames=args.max_frames)
    prompts = (texts or ["audio"])[:4]
    audio_tok = AudioTokenizer.from_pretrained(model_dir / CONFIG_NAME, device=args.device)
    generated_dir = out / "generated"
    generated_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    wavs = []
    for i, text in enumerate(prompts):
        prompt = [hf_tok.bos_token_id, *hf_tok(text, add_special_tokens=False)["input_ids"], config.vocab.start_id]
        ids = torch.tensor([prompt], device=model.device)
        with torch.no_grad():
            generated = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=processor.span_length(args.max_frames),
                do_sample=True,
                eos_token_id=config.vocab.end_id,
                pad_token_id=hf_tok.pad_token_id,
                logits_processor=LogitsProcessorList([processor]),
            )[0]
        # 5. every audio span -> a wav file (strict: a malformed span would raise)
        for piece in decode_mixed_output(generated.cpu(), audio_tok, hf_tok, errors="strict"):
            if piece.kind == "audio":
                path = generated_dir / f"sample{i:02d}_{len(wavs):02d}.wav"
                sf.write(path, np.asarray(piece.audio).T, config.output_sampling_rate)
                wavs.append({"prompt": text, "path": str(path), "ids": len(piece.ids)})

    summary = {"losses": losses, "examples": len(dataset), "wavs": wavs, "model": str(model_dir)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _texts(tokens: Path) -> list[str]:
    from audiotok.shards import read_shards

    return [str(text) for text in read_shards(tokens)["text"] if text]


def _example(row: dict[str, Any], bos_id: int | None) -> dict[str, Any]:
    """bos + text + audio span; the loss on the audio span only (the part the model must produce)."""
    ids = np.asarray(row["input_ids"], dtype=np.int64)
    audio = np.asarray(row["audio_mask"], dtype=bool) if "audio_mask" in row else np.ones(len(ids), bool)
    labels = np.where(audio, ids, IGNORE_INDEX)
    if bos_id is not None:
        ids, labels = np.concatenate([[bos_id], ids]), np.concatenate([[IGNORE_INDEX], labels])
    return {"input_ids": ids.tolist(), "attention_mask": [1] * len(ids), "labels": labels.tolist()}


if __name__ == "__main__":
    summary = main(sys.argv[1:])
    print(f"loss {summary['losses'][0]:.3f} -> {summary['losses'][-1]:.3f} over {len(summary['losses'])} logs")
    for wav in summary["wavs"]:
        print(f"{wav['path']}: {wav['ids']} audio ids from {wav['prompt']!r}")
