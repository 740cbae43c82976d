"""Fingerprints of media: PDQ for images, MD5 and SHA-256 for exact copies."""

from reclaim.hashing.base import ImageHasher, PdqHash, SignalType
from reclaim.hashing.exact import ExactHashes, exact_hashes
from reclaim.hashing.files import FileFingerprint, FingerprintOptions, fingerprint_file
from reclaim.hashing.media import DecodedImage, MediaLimits, decode_image
from reclaim.hashing.pdq import DihedralHashes, PdqHasher, dihedral_from_luma, pdq_from_luma

__all__ = [
    "DecodedImage",
    "DihedralHashes",
    "ExactHashes",
    "FileFingerprint",
    "FingerprintOptions",
    "ImageHasher",
    "MediaLimits",
    "PdqHash",
    "PdqHasher",
    "SignalType",
    "decode_image",
    "dihedral_from_luma",
    "exact_hashes",
    "fingerprint_file",
    "pdq_from_luma",
]
