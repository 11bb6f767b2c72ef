"""A gateway for tests, in process: its real app, store, audit trail and policies over files in a
folder, with dev API tokens for a few subjects (and, given a ``TlsConfig``, mutual TLS). Shared by
the gateway's API tests and the jobs client's tests, which serve it under uvicorn on loopback."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Optional

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.audit import AuditLog, AuditTrail
from gateway.config import TlsConfig, parse_config
from gateway.forwarder import Forwarder
from gateway.policy import PolicyEngine
from gateway.store import open_store
from tests.conftest import DEV_BUCKET

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
TOKENS = {"alice": ("researchers",), "bob": (), "lena": ("quantum-leads",)}
BELL = """OPENQASM 3.0;
// alice's secret experiment
qubit[2] alice_qubits;
bit[2] alice_bits;
h alice_qubits[0];
cnot alice_qubits[0], alice_qubits[1];
alice_bits = measure alice_qubits;
"""


def token(subject: str) -> str:
    return f"token-of-{subject}"


class Gateway:
    """One gateway instance over files in ``root``; ``restart()`` is a new instance on the same files."""

    def __init__(self, root: Path, *, rate_limit: int = 600, clock=time.time, tls: Optional[TlsConfig] = None,
                 extra_settings: Optional[dict] = None) -> None:
        self.root, self.clock = root, clock
        root.mkdir(parents=True, exist_ok=True)
        settings = {
            "database": "gateway.sqlite3", "audit_log": "audit.jsonl", "rate_limit_per_minute": rate_limit,
            "timezone": "Europe/London",
            "api_tokens": [{"subject": s, "groups": list(g), "sha256": hashlib.sha256(token(s).encode()).hexdigest()}
                           for s, g in TOKENS.items()],
        }
        if tls is not None:  # absolute paths: parse_config resolves them against root unchanged
            settings["tls"] = {"certificate": str(tls.certificate), "key": str(tls.key), "client_ca": str(tls.client_ca)}
        self.config = parse_config({"gateway": settings | (extra_settings or {})}, "dev", root)
        self.start()

    def start(self) -> None:
        self.store = open_store(self.config.database)
        self.audit = AuditTrail(AuditLog(self.config.audit_log), self.store)
        policy = PolicyEngine.load(self.config.policies, self.config.zone)
        self.app = create_app(self.config, store=self.store, audit=self.audit, policy=policy,
                              devices=(SV1, FORTE), clock=self.clock)
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def restart(self) -> None:
        self.store.close()
        self.start()

    def submit(self, subject: str = "alice", **body):
        payload = {"device": SV1, "shots": 100, "program": BELL, **body}
        return self.client.post("/v1/tasks", json=payload, headers={"Authorization": f"Bearer {token(subject)}"})

    def status(self, task_id: str, subject: str = "alice"):
        return self.client.get(f"/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {token(subject)}"})

    def forwarder(self, worker: str = "w1", **kwargs) -> Forwarder:
        return Forwarder(self.store, region="us-east-1", bucket=DEV_BUCKET, prefix="gateway", worker=worker,
                         audit=self.audit, **kwargs)
