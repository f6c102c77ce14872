"""Any sentence-transformers model, by Hugging Face id or local path."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from embeddings.encoders.base import EncoderError, truncate_dimensions

logger = logging.getLogger(__name__)


def pick_device(requested: str | None = None) -> str:
    """Return the requested device, else CUDA when a GPU is visible, else CPU."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEncoder:
    """Encode with a sentence-transformers model.

    Queries and documents go through the model's own `encode_query` / `encode_document` (which apply
    the prompts the model ships with); prompts given here (from the catalog, e.g. e5's
    "query: " / "passage: ") take precedence. On CUDA the weights are cast to bfloat16.
    `dimensions` truncates Matryoshka-style and re-normalises. sentence-transformers sorts each call's
    texts by length before batching, so padding stays small.
    """

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        dimensions: int | None = None,
        device: str | None = None,
        batch_size: int = 32,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        max_seq_length: int | None = None,
        trust_remote_code: bool = False,
        threads: int | None = None,
    ):
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(int(threads))  # process-wide: torch has one intra-op pool
        transformers.utils.logging.disable_progress_bar()  # a bar per load in worker and web logs
        self.device = pick_device(device)
        self.model_path = model
        try:
            self.model = SentenceTransformer(model, device=self.device, trust_remote_code=trust_remote_code)
        except (OSError, ValueError) as exc:
            raise EncoderError(
                f"could not load sentence-transformers model {model!r}: {exc}. "
                "Give a local path or a Hugging Face id reachable from this machine "
                "(set HF_HUB_OFFLINE=1 to use only the local cache)."
            ) from exc
        if self.device.startswith("cuda") and torch.cuda.is_bf16_supported():
            self.model = self.model.to(torch.bfloat16)
        if max_seq_length:
            self.model.max_seq_length = max_seq_length
        get_dims = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        native = get_dims()
        if native is None:
            raise EncoderError(f"model {model!r} does not report its embedding dimension")
        if dimensions is not None and dimensions > native:
            raise EncoderError(f"model {model!r} gives {native} dimensions; cannot truncate to {dimensions}")
        self.dimensions = dimensions or native
        self.batch_size = batch_size
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        # The name is derivable from configuration alone (no model load): spec, plus "@dims" when truncated.
        self.name = f"{name or model}@{dimensions}" if dimensions else (name or model)
        logger.info("loaded encoder %s on %s (%d dims)", self.name, self.device, self.dimensions)

    def _encode(self, texts: Sequence[str], *, side: str) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        prompt = self.query_prompt if side == "query" else self.document_prompt
        kwargs = {"batch_size": self.batch_size, "convert_to_numpy": True, "show_progress_bar": False}
        if prompt is not None:
            vectors = self.model.encode(list(texts), prompt=prompt, **kwargs)
        else:
            method = getattr(self.model, f"encode_{side}", None) or self.model.encode
            vectors = method(list(texts), **kwargs)
        return truncate_dimensions(np.asarray(vectors, dtype=np.float32), self.dimensions)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, side="query")

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, side="document")
