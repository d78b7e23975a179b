"""Near-duplicate detection: MinHash signatures over word shingles, LSH band keys,
and the Jaccard + containment decision (pure functions, no storage).

Containment (|A∩B| / |smaller|) is what catches a copy cut to its first half or a
copy with a paragraph added; it is derived from the MinHash Jaccard estimate and the
exact shingle counts: |A∩B| = J·(|A|+|B|)/(1+J).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import cache

import numpy as np

from extractors.textnorm import normalize_for_hash

NUM_PERM = 128
BANDS = 42  # 42 bands x 3 rows: a pair with Jaccard 0.4 becomes a candidate 94% of the time, 0.5: 99.6%
ROWS = 3
_SEED = 1


@cache
def _minhash():
    """datasketch's MinHash class and the shared permutations, imported on first use:
    datasketch pulls in scipy (~0.4 s), which runs that do no dedup (all feeds 304) skip."""
    from datasketch import MinHash

    template = MinHash(num_perm=NUM_PERM, seed=_SEED)
    return MinHash, template.permutations, template.scheme


@dataclass(frozen=True)
class DedupSettings:
    """The ``[dedup]`` section: near-duplicate thresholds."""

    shingle_size: int = 3
    jaccard_threshold: float = 0.5
    containment_threshold: float = 0.7
    min_words: int = 40


@dataclass(frozen=True)
class Signature:
    """MinHash of a text's shingle set, plus the set's exact size."""

    hashvalues: np.ndarray  # uint64 array of NUM_PERM 32-bit values
    shingles: int


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float

    @property
    def score(self) -> float:
        return max(self.jaccard, self.containment)


def shingle_set(text: str, size: int) -> set[bytes]:
    """Return the set of normalised word ``size``-grams of ``text`` (as UTF-8 bytes)."""
    words = normalize_for_hash(text).split()
    if len(words) < size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


def signature(text: str, settings: DedupSettings) -> Signature:
    """Return the MinHash signature of ``text``."""
    shingles = shingle_set(text, settings.shingle_size)
    minhash, permutations, scheme = _minhash()
    mh = minhash(num_perm=NUM_PERM, seed=_SEED, permutations=permutations, scheme=scheme)
    if shingles:
        mh.update_batch(shingles)
    return Signature(mh.hashvalues.copy(), len(shingles))


def band_keys(sig: Signature) -> list[int]:
    """Return the BANDS LSH keys of a signature as signed 64-bit ints (band number mixed in)."""
    values = sig.hashvalues.astype(np.uint32)
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS:(band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=b"nw-band" + bytes([band])).digest()
        keys.append(struct.unpack("<q", digest)[0])
    return keys


def similarity(a: Signature, b: Signature) -> Similarity:
    """Estimate Jaccard and containment (of the smaller set in the larger) of two signatures."""
    if a.shingles == 0 or b.shingles == 0:
        return Similarity(0.0, 0.0)
    jaccard = float(np.count_nonzero(a.hashvalues == b.hashvalues)) / NUM_PERM
    intersection = jaccard * (a.shingles + b.shingles) / (1.0 + jaccard)
    containment = min(1.0, intersection / min(a.shingles, b.shingles))
    return Similarity(jaccard, containment)


def is_near_duplicate(sim: Similarity, a: Signature, b: Signature, settings: DedupSettings) -> bool:
    """Decide from the similarity: Jaccard over its threshold, or containment over its
    threshold when the smaller text is long enough for containment to mean something."""
    if sim.jaccard >= settings.jaccard_threshold:
        return True
    small = min(a.shingles, b.shingles)
    return sim.containment >= settings.containment_threshold and small >= settings.min_words


def doc_key(article_id: str) -> int:
    """Signed 64-bit key of an article id, for the index tables."""
    return struct.unpack("<q", hashlib.blake2b(article_id.encode(), digest_size=8).digest())[0]


def pack(sig: Signature) -> bytes:
    """Serialise a signature's hash values (NUM_PERM x uint32) for storage."""
    return sig.hashvalues.astype("<u4").tobytes()


def unpack(blob: bytes, shingles: int) -> Signature:
    """Inverse of :func:`pack`."""
    return Signature(np.frombuffer(blob, dtype="<u4").astype(np.uint64), shingles)
