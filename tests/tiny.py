"""Tiny random-initialised models with real tokenizers, built in-process (offline, seconds).

Tokenizers are trained here on a small text with the `tokenizers` library, so no hub access is
needed; models come from transformers configs with a fixed seed.
"""

from __future__ import annotations

from pathlib import Path

TRAIN_TEXT = [
    "The cat sat on the mat.",
    "A dog ran in the park, and the children laughed.",
    "Paris is the capital of France; Berlin is the capital of Germany.",
    "She turned left at the river and walked to the old mill.",
    "In 1969, astronauts landed on the Moon for the first time.",
    "Water boils at 100 degrees Celsius at sea level.",
    "The quick brown fox jumps over the lazy dog!",
    "Music, art and science were taught at the school.",
]

ARCHITECTURES = ("bert", "gpt2", "llama")


def make_tokenizer(kind: str):
    """A fast tokenizer: WordPiece with [CLS]/[SEP] for BERT, byte-level BPE otherwise."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if kind == "bert":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok.train_from_iterator(TRAIN_TEXT * 4, trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials))
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
        )
        tok.decoder = decoders.WordPiece()
        return PreTrainedTokenizerFast(
            tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]"
        )
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.train_from_iterator(
        TRAIN_TEXT * 4,
        trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>", unk_token="<|endoftext|>")


def make_model(kind: str, vocab_size: int, seed: int = 0):
    """A 2-layer random model of the given architecture (Llama uses grouped-query attention)."""
    import torch
    from transformers import AutoModel, BertConfig, GPT2Config, LlamaConfig

    torch.manual_seed(seed)
    if kind == "bert":
        cfg = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=128)
    elif kind == "gpt2":
        cfg = GPT2Config(vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=4, n_positions=128, bos_token_id=0, eos_token_id=0)
    elif kind == "llama":
        cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=64, max_position_embeddings=128, bos_token_id=0, eos_token_id=0)
    else:
        raise ValueError(kind)
    return AutoModel.from_config(cfg, attn_implementation="eager")


def save_tiny_checkpoint(kind: str, folder: Path) -> Path:
    """Write a tiny checkpoint folder usable as ``--model folder``."""
    tokenizer = make_tokenizer(kind)
    model = make_model(kind, vocab_size=len(tokenizer))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


IMAGE_ARCHITECTURES = ("vit", "deit", "dinov2", "dinov2_registers")
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def make_image_model(kind: str, seed: int = 0, image_size: int = 32, patch_size: int = 8):
    """A 2-layer random vision transformer; DINOv2 with registers has 2 register tokens."""
    import torch
    from transformers import AutoModel, DeiTConfig, Dinov2Config, Dinov2WithRegistersConfig, ViTConfig

    torch.manual_seed(seed)
    common = dict(image_size=image_size, patch_size=patch_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4)
    if kind == "vit":
        cfg = ViTConfig(**common, intermediate_size=64)
    elif kind == "deit":
        cfg = DeiTConfig(**common, intermediate_size=64)
    elif kind == "dinov2":
        cfg = Dinov2Config(**common, mlp_ratio=2)
    elif kind == "dinov2_registers":
        cfg = Dinov2WithRegistersConfig(**common, mlp_ratio=2, num_register_tokens=2)
    else:
        raise ValueError(kind)
    return AutoModel.from_config(cfg, attn_implementation="eager")


def make_image_processor(kind: str, image_size: int = 32):
    """ViT/DeiT: resize to a square; DINOv2: shortest edge then centre crop (as the hub checkpoints)."""
    from transformers import BitImageProcessor, ViTImageProcessor

    if kind in ("vit", "deit"):
        return ViTImageProcessor(size={"height": image_size, "width": image_size}, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    return BitImageProcessor(
        size={"shortest_edge": image_size + image_size // 8},
        crop_size={"height": image_size, "width": image_size},
        do_center_crop=True,
        do_convert_rgb=True,
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
    )


def save_tiny_image_checkpoint(kind: str, folder: Path, image_size: int = 32) -> Path:
    """Write a tiny vision checkpoint folder (weights + preprocessor_config.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    make_image_model(kind, image_size=image_size).save_pretrained(folder)
    make_image_processor(kind, image_size=image_size).save_pretrained(folder)
    return folder
