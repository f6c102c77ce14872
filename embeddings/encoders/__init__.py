from embeddings.encoders.base import Encoder, EncoderError, l2_normalize, truncate_dimensions
from embeddings.encoders.hashing import HashingEncoder

__all__ = ["Encoder", "EncoderError", "HashingEncoder", "l2_normalize", "truncate_dimensions"]
