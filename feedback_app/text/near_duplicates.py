"""Near copies of a view: how a campaign (one text sent many times, lightly edited) is found.

Comparing a new view with every stored one does not scale to a million views. Instead each view
gets a MinHash signature, cut into bands; each band becomes one signed 64-bit key, kept in an
indexed table that every app node shares. A new view's candidates are the views with any of its
keys (one indexed lookup, `WHERE key IN (...)`); `is_near_copy` confirms each one. We band here,
not with datasketch's MinHashLSH, because that keeps its index in one process (or in Redis).

Parameters, from the texts in tests/test_near_duplicates.py and 148 real LegCo questions in
Chinese (measured only):
- Shingles of 3 tokens: edited copies measure 0.67-1.0; other residents on the same topic, in the
  same stock phrases ("real-time arrival", "實時到站"), at most 0.05; unrelated LegCo pairs 0.08
  (99.9th percentile); six typos in 150 characters leave at least 0.57. Shingles of 2 let
  unrelated pairs reach 0.11 (0.25 at most); of 4, six typos fall to 0.46.
- 128 permutations: the estimate is within ±0.044 (one standard deviation) at 0.5; 64 would save
  under a tenth of the time (hashing each shingle is most of it).
- CAMPAIGN_SIMILARITY 0.5: between the lowest edited copy (an own paragraph added, the text half
  as long again: 0.58-0.67) and the most similar pair of different texts (0.19).
- 32 bands of 4 rows: a pair at similarity s shares a key with probability 1 - (1 - s^4)^32:
  87% at 0.5, 99% at 0.6, 99.98% at 0.7; 5% at 0.2, 0.3% at 0.1 (about 20 needless candidates
  per million stored views, from the LegCo pairs). Datasketch's optimiser picks 32 x 4 for 0.4:
  we want the curve to rise below our threshold, since a needless candidate costs one signature
  comparison and a miss costs a campaign copy treated as new. A copy is missed only if it shares
  no key with any earlier copy of its campaign.
Changing any of these, or the normalisation, changes every key: stored keys must be recomputed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import chinese

SHINGLE_TOKENS = 3
NUM_PERM = 128
BANDS, ROWS = 32, 4
CAMPAIGN_SIMILARITY = 0.5
SEED = 1
_VALUE = np.dtype("<u4")  # little-endian uint32: the same bytes on every machine
# Personalises the key hash: keys from a future scheme can never collide with these.
_KEY_PERSON = b"scf-near-dup-v1"

_CJK_RANGES = chinese.HAN_RANGES
# One Chinese character, or one run of other letters and digits ("5G", "app", "lamppost").
_TOKEN = re.compile(f"[{_CJK_RANGES}]|[^\\W_{_CJK_RANGES}]+")


@dataclass(frozen=True)
class Signature:
    """A text's MinHash: NUM_PERM values, kept as the bytes stored in the database."""

    values: bytes

    def __post_init__(self) -> None:
        if len(self.values) != NUM_PERM * _VALUE.itemsize:
            raise ValueError(f"a signature is {NUM_PERM * _VALUE.itemsize} bytes, not {len(self.values)}")

    def to_bytes(self) -> bytes:
        return self.values

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        return cls(bytes(data))


@lru_cache(maxsize=1)
def _permutations() -> np.ndarray:
    from datasketch import MinHash  # imported on first use: it brings scipy (most of a second)

    permutations: np.ndarray = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32").permutations
    return permutations


def _tokens(text: str) -> list[str]:
    """NFKC, case-folded, one script of Chinese; punctuation and spacing are not tokens."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if chinese.has_han(text):
        # Folded to Simplified (the table simplified.py uses) rather than to Traditional: many
        # Traditional characters share one Simplified form, so this direction never has to guess.
        text = chinese.converter("hk2s")(text)
    return _TOKEN.findall(text)


def _shingles(text: str) -> set[str]:
    """Every run of SHINGLE_TOKENS tokens; a shorter text is one shingle of all its tokens."""
    words = _tokens(text)
    if not words:
        return set()
    span = min(SHINGLE_TOKENS, len(words))
    return {"\x1f".join(words[i : i + span]) for i in range(len(words) - span + 1)}


def signature(text: str) -> Signature | None:
    """None for a text with no letters or digits (empty, emoji, punctuation): it is nobody's copy."""
    parts = _shingles(text)
    if not parts:
        return None
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_permutations(), scheme="affine32")
    minhash.update_batch([part.encode("utf-8") for part in parts])
    return Signature(minhash.hashvalues.astype(_VALUE).tobytes())


def band_keys(sig: Signature) -> list[int]:
    """BANDS keys, signed 64-bit, the same on every machine and process (not Python's hash())."""
    width = ROWS * _VALUE.itemsize
    keys = []
    for band in range(BANDS):
        data = band.to_bytes(2, "big") + sig.values[band * width : (band + 1) * width]
        digest = hashlib.blake2b(data, digest_size=8, person=_KEY_PERSON).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two texts' shingles: the share of equal values."""
    equal = np.frombuffer(a.values, _VALUE) == np.frombuffer(b.values, _VALUE)
    return float(np.count_nonzero(equal)) / NUM_PERM


def is_near_copy(a: Signature, b: Signature) -> bool:
    return similarity(a, b) >= CAMPAIGN_SIMILARITY
