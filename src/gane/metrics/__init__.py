"""Metrics (one registry: ``METRICS``) and the feature networks they use.

Importing this package registers every metric; ``gane eval`` and ``gane train --metrics`` run
them through :func:`compute` on a :class:`MetricContext`.
"""
from . import encoder, modes, samples  # noqa: F401  (registers the metrics)
from .classifier import DomainClassifier, domain_classifier, train_classifier
from .core import METRICS, Metric, MetricContext, append_record, check_applicable, compute, parse_names, record, register_metric, why_not
from .features import FeatureNet, feature_net, inception_features

__all__ = ["DomainClassifier", "FeatureNet", "METRICS", "Metric", "MetricContext", "append_record",
           "check_applicable", "compute", "domain_classifier", "feature_net", "inception_features",
           "parse_names", "record", "register_metric", "train_classifier", "why_not"]
