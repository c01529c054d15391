"""Deblurring networks: STANet (factorized spatio-temporal attention), DBLRNet, and the DBLRGAN discriminator.

Build models by name with :func:`create_model`; :func:`list_models` names them. Every model maps a clip
``(B, T, 3, H, W)`` to the restored reference frame ``(B, 3, H, W)`` and works at any H×W.
"""

from vdeblur.models.dblrnet import DBLRGANDiscriminator, DBLRNet
from vdeblur.models.layers import FactorizedSTAttention, NonLocalBlock
from vdeblur.models.registry import create_discriminator, create_model, list_models
from vdeblur.models.stanet import STANet
from vdeblur.models.streaming import StreamingModel, streams

__all__ = [
    "DBLRGANDiscriminator",
    "DBLRNet",
    "FactorizedSTAttention",
    "NonLocalBlock",
    "STANet",
    "StreamingModel",
    "create_discriminator",
    "create_model",
    "list_models",
    "streams",
]
