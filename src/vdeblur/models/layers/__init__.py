"""Building blocks shared by the vdeblur architectures."""

from vdeblur.models.layers.attention import FactorizedSTAttention, NonLocalBlock
from vdeblur.models.layers.blocks import ChannelLayerNorm, LocalFusion, NAFBlock, NAFStack, ResidualDenseBlock
from vdeblur.models.layers.deconvolution import KernelEstimator, WienerFront
from vdeblur.models.layers.detail import DetailBranch, ResidualConvBlock
from vdeblur.models.layers.fourier import FourierBranch
from vdeblur.models.layers.shapes import check_clip, check_frame, check_sizes, pad_to_multiple, stack_frames

__all__ = [
    "ChannelLayerNorm",
    "DetailBranch",
    "FactorizedSTAttention",
    "FourierBranch",
    "KernelEstimator",
    "LocalFusion",
    "NAFBlock",
    "NAFStack",
    "NonLocalBlock",
    "ResidualConvBlock",
    "ResidualDenseBlock",
    "WienerFront",
    "check_clip",
    "check_frame",
    "check_sizes",
    "pad_to_multiple",
    "stack_frames",
]
