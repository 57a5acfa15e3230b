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

#: Every text architecture of the test matrix (tests/test_architectures.py): BERT-like encoders,
#: encoders with relative-position terms (MPNet, DeBERTa-v2), the encoder of T5, and decoders
#: (GPT-NeoX, Phi: partial rotary; Llama, Mistral, Qwen2: grouped-query; Gemma: one kv head).
TEXT_ARCHITECTURES = (
    "bert", "roberta", "distilbert", "albert", "electra", "mpnet", "deberta-v2", "t5",
    "gpt2", "gpt-neox", "llama", "mistral", "qwen2", "gemma", "phi",
)
#: Encoders get the WordPiece tokenizer with [CLS] ... [SEP]; decoders and T5 byte-level BPE.
WORDPIECE_ARCHITECTURES = {"bert", "roberta", "distilbert", "albert", "electra", "mpnet", "deberta-v2"}


def wordpiece_vocab(tok, specials: list[str], size: int) -> dict[str, int]:
    """A deterministic WordPiece vocabulary of TRAIN_TEXT as ``tok`` normalises and splits it: the
    special tokens, every character alone and as a continuation (##c), the whole words, then the
    commonest two-letter continuations (##ab), by frequency (ties by the string), up to ``size``
    entries."""
    from collections import Counter

    words = Counter(w for text in TRAIN_TEXT for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(text)))
    chars = sorted({c for w in words for c in w})
    pieces = Counter()
    for word, n in words.items():
        for i in range(1, len(word) - 1):
            pieces[f"##{word[i : i + 2]}"] += n
    vocab = [*specials, *chars, *(f"##{c}" for c in chars)]
    for ranked in (words, pieces):
        vocab += [w for w, _ in sorted(ranked.items(), key=lambda item: (-item[1], item[0])) if w not in vocab]
    return {token: i for i, token in enumerate(vocab[:size])}


def make_tokenizer(kind: str):
    """A fast tokenizer: WordPiece with [CLS]/[SEP] for BERT, byte-level BPE otherwise."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if kind in WORDPIECE_ARCHITECTURES:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        # the vocabulary is made here, not by WordPieceTrainer: its ties between equally frequent
        # merges fall differently in every process, so each test run got another tiny BERT (and
        # tests that read its factors saw another model)
        tok.model = models.WordPiece(wordpiece_vocab(tok, specials, 200), unk_token="[UNK]")
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


def _text_config(kind: str, vocab_size: int):
    """A 2-layer config, width 32, 4 query heads of 8 dims (DistilBERT, T5: their own names)."""
    import transformers as tf

    common = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=128, pad_token_id=0)
    decoder = dict(common, bos_token_id=0, eos_token_id=0)
    if kind == "bert":
        return tf.BertConfig(**common)
    if kind == "roberta":  # positions start after the pad id: keep room for them
        return tf.RobertaConfig(**dict(common, max_position_embeddings=130))
    if kind == "distilbert":
        return tf.DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=128, pad_token_id=0)
    if kind == "albert":  # one set of block weights shared by both layers, factorised embeddings
        return tf.AlbertConfig(**common, embedding_size=16)
    if kind == "electra":
        return tf.ElectraConfig(**common, embedding_size=16)
    if kind == "mpnet":
        return tf.MPNetConfig(**common)  # its encoder hard-codes 32 relative-position buckets
    if kind == "deberta-v2":  # as DeBERTa-v3: shared position projections, c2p + p2c terms
        return tf.DebertaV2Config(**common, relative_attention=True, position_buckets=8, pos_att_type=["p2c", "c2p"], share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False)
    if kind == "t5":
        return tf.T5Config(vocab_size=vocab_size, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4, relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=0, decoder_start_token_id=0)
    if kind == "gpt2":
        return tf.GPT2Config(vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=4, n_positions=128, bos_token_id=0, eos_token_id=0)
    if kind == "gpt-neox":
        return tf.GPTNeoXConfig(**decoder)
    if kind == "llama":
        return tf.LlamaConfig(**decoder, num_key_value_heads=2)
    if kind == "mistral":
        return tf.MistralConfig(**decoder, num_key_value_heads=2, sliding_window=4)  # shorter than the test sentences: exercised
    if kind == "qwen2":
        return tf.Qwen2Config(**decoder, num_key_value_heads=2)
    if kind == "gemma":
        return tf.GemmaConfig(**decoder, num_key_value_heads=1, head_dim=8)
    if kind == "phi":
        return tf.PhiConfig(**decoder, partial_rotary_factor=0.5)
    raise ValueError(kind)


def make_model(kind: str, vocab_size: int, seed: int = 0, lm_head: bool = False):
    """A 2-layer random model of the given architecture (one of TEXT_ARCHITECTURES); ``lm_head``:
    with its (untied) language-model head, as a causal LM checkpoint holds it."""
    import torch
    from transformers import AutoModel, AutoModelForCausalLM

    torch.manual_seed(seed)
    return (AutoModelForCausalLM if lm_head else AutoModel).from_config(_text_config(kind, vocab_size), attn_implementation="eager")


def save_tiny_checkpoint(kind: str, folder: Path, lm_head: bool = False) -> Path:
    """Write a tiny checkpoint folder usable as ``--model folder``."""
    tokenizer = make_tokenizer(kind)
    model = make_model(kind, vocab_size=len(tokenizer), lm_head=lm_head)
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


def attention_from_qk(store, layer: int, sentence: int, extra_scores=None):
    """softmax(scaling · q·k [+ extra_scores] + causal mask) of one sentence, recomputed from the
    store's q and k alone: (n_heads, L, L) float64, rows = queries. ``extra_scores``: (n_heads, L,
    L) terms the model adds to the score (relative positions), if any."""
    import numpy as np
    from scipy.special import softmax

    info = store.info
    lo, hi = store.sentence_offsets[sentence], store.sentence_offsets[sentence + 1]
    q = np.asarray(store.queries(layer)[lo:hi], dtype=np.float64)  # (L, n_heads, d_head)
    k = np.asarray(store.keys(layer)[lo:hi], dtype=np.float64)[:, [info.kv_head_of(h) for h in range(info.n_heads)]]
    scores = np.einsum("qhd,khd->hqk", q, k) * store.scaling(layer)
    if extra_scores is not None:
        scores = scores + extra_scores
    if info.is_causal:
        scores = scores + np.triu(np.full((hi - lo, hi - lo), -np.inf), 1)
    return softmax(scores, axis=-1)
