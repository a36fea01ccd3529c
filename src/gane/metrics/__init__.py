"""Metrics and the feature networks they use."""
from .classifier import DomainClassifier, domain_classifier, train_classifier
from .evaluate import ClassifierEvaluation, evaluate_with_classifier, reconstruction_mse

__all__ = ["ClassifierEvaluation", "DomainClassifier", "domain_classifier", "evaluate_with_classifier", "reconstruction_mse",
           "train_classifier"]
