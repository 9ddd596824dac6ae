"""Validation of features against their layer spec, shared by import and editing."""

from gisplatform.validate.feature import FeatureCandidate, ValidFeature, validate_feature

__all__ = ["FeatureCandidate", "ValidFeature", "validate_feature"]
