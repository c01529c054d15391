"""Training and evaluation: typed configs, the resumable (optionally distributed) trainer, DBLRGAN, metrics."""

from vdeblur.train.config import RunConfig, load_config
from vdeblur.train.trainer import Trainer, TrainingDiverged, TrainResult

__all__ = ["RunConfig", "Trainer", "TrainResult", "TrainingDiverged", "load_config"]
