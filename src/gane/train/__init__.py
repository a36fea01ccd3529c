"""The trainer, checkpoints and data parallelism."""
from .checkpoint import checkpoint_dirs, latest_checkpoint
from .trainer import Trainer, TrainResult, train_run

__all__ = ["Trainer", "TrainResult", "train_run", "checkpoint_dirs", "latest_checkpoint"]
