"""Test helpers that model how AWS decides requests against IAM JSON policies."""

from tests.access.evaluator import Decision, PolicyError, Request, Result, evaluate

__all__ = ["Decision", "PolicyError", "Request", "Result", "evaluate"]
