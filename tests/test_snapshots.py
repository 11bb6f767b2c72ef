"""Snapshot of every environment's synthesized Terraform JSON.

Update after an intended change with `make snapshot-update` and review the diff:
a renamed construct id shows up here as a replaced resource.
"""

import json

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from stacks import ENVIRONMENTS


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_stack_matches_snapshot(env, synthesized, snapshot_json):
    assert json.loads(synthesized[env]) == snapshot_json
