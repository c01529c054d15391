"""Reading deblurring datasets: layouts (GOPRO, DVD, BSD, REDS, generic), temporal windows and augmentation."""

from vdeblur.data.dataset import VideoDeblurDataset, window_indices
from vdeblur.data.layouts import LAYOUTS, Sequence, detect_layout, find_sequences

__all__ = ["LAYOUTS", "Sequence", "VideoDeblurDataset", "detect_layout", "find_sequences", "window_indices"]
