"""Named datasets behind one registry. ``load_data("mnist-5k", "test")``."""
from .core import (
    DATASETS,
    Batch,
    Data,
    DataInfo,
    DataOptions,
    EpochSampler,
    StreamingData,
    TensorData,
    cache_dir,
    dataset_splits,
    images_to_float,
    load_data,
    parse_spec,
    register_dataset,
    split_or_first,
)
from . import sources  # noqa: F401  (registers the datasets)
from . import paired  # noqa: F401  (registers the two-domain datasets)
from .paired import PairBatch, PairedData

__all__ = [
    "DATASETS", "Batch", "PairBatch", "PairedData", "Data", "DataInfo", "DataOptions", "EpochSampler", "StreamingData", "TensorData",
    "cache_dir", "dataset_splits", "images_to_float", "load_data", "parse_spec", "register_dataset", "split_or_first",
]
