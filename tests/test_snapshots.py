"""Snapshot of every synthesized stack (the bootstrap and each environment), one set per framework family.

CDKTF's are in ``snapshots/cdktf/``, CDK Terrain's in ``snapshots/cdktn/``; the family
installed (``quantum_constructs.framework``) is compared with its own. tests/test_framework.py
holds the two sets to each other.

Update after an intended change with `make snapshot-update` and `make snapshot-update-cdktn`, and
review the diff: a renamed construct id shows up here as a replaced resource.
"""

import json
from pathlib import Path

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from quantum_constructs.framework import FAMILY
from stacks import STACK_NAMES

SNAPSHOTS = Path(__file__).parent / "snapshots"  # not __snapshots__: syrupy clears files it does not own there


def snapshot_file(family: str, env: str) -> Path:
    """Where ``family``'s snapshot of the stack ``env`` is kept."""
    return SNAPSHOTS / family / "test_snapshots" / f"test_stack_matches_snapshot[{env}].json"


class FamilySnapshot(JSONSnapshotExtension):
    """The installed family's set only: written, read and scanned for unused snapshots there, so
    neither family's run ever sees (or deletes) the other's."""

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOTS / FAMILY.name / "test_snapshots")

    @classmethod
    def discovery_dirname(cls, *, test_location) -> str:
        return cls.dirname(test_location=test_location)


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(FamilySnapshot)


@pytest.mark.parametrize("env", STACK_NAMES)
def test_stack_matches_snapshot(env, synthesized_stacks, snapshot_json):
    assert json.loads(synthesized_stacks[env]) == snapshot_json
