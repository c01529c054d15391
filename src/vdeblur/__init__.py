"""vdeblur: video deblurring with factorized spatio-temporal attention (STANet), DBLRNet and DBLRGAN."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Deblurrer", "__version__"]


def __getattr__(name: str):
    # Imported lazily so that `import vdeblur` (and `vdeblur --help`) stays fast and does not pull in PyAV.
    if name == "Deblurrer":
        from vdeblur.infer.deblurrer import Deblurrer

        return Deblurrer
    raise AttributeError(f"module 'vdeblur' has no attribute {name!r}")
