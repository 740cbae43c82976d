"""Hamming-space indexes over 256-bit codes: a plain reference and a fast exact index."""

from reclaim.index.base import HammingIndexBase
from reclaim.index.flat import FlatIndex
from reclaim.index.mih import HammingIndex

__all__ = ["FlatIndex", "HammingIndex", "HammingIndexBase"]
