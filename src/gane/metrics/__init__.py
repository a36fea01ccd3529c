"""Metrics and the feature networks they use."""
from .classifier import DomainClassifier, domain_classifier, train_classifier

__all__ = ["DomainClassifier", "domain_classifier", "train_classifier"]
