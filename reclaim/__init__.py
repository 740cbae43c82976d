"""Reclaim: find and remove non-consensual intimate images by fingerprint alone."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("reclaim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
