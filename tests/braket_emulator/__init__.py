"""Offline Amazon Braket emulator for tests: ``BraketEmulator`` plus a moto S3 helper.

Point the unmodified SDK at it with ``BRAKET_ENDPOINT=<emulator.url>`` and
``AWS_ENDPOINT_URL_S3=<moto url>``; results land in moto's S3 as Braket writes them.
Hybrid jobs (``AwsQuantumJob``) run their entry point in a subprocess, as the role passed to
them (``BraketEmulator(roles=[CallerIdentity(...)])``); see ``jobs.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .access import CallerIdentity
from .devices import DEVICES, Device
from .server import ACCOUNT_ID, BraketEmulator, Knobs

__all__ = ["ACCOUNT_ID", "DEVICES", "BraketEmulator", "CallerIdentity", "Device", "Knobs", "moto_s3_server", "point_sdk_at"]


def point_sdk_at(monkeypatch, braket_url: str, s3_url: str) -> None:
    """Point the Braket SDK and boto3 at the emulators with their supported settings; no real credentials."""
    for name in ("AWS_REGION", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AMZN_BRAKET_OUT_S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "BRAKET_ENDPOINT": braket_url,
        "AWS_ENDPOINT_URL_S3": s3_url,
        # moto's server emulates every service: here CloudWatch Logs, where hybrid jobs' logs go.
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": s3_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)


# How often a serving thread checks whether it was asked to stop. socketserver's default is 0.5 s,
# which every ``stop()`` then waits out: half a second per test for nothing.
SHUTDOWN_POLL_SECONDS = 0.02


@contextmanager
def moto_s3_server() -> Iterator[str]:
    """Run moto's ``ThreadedMotoServer`` on a free loopback port (port 0) and yield its URL."""
    import logging

    from moto.moto_server import threaded_moto_server as moto

    class QuickStopMotoServer(moto.ThreadedMotoServer):
        """moto's ThreadedMotoServer, with the serving loop polling for shutdown every few ms."""

        def _server_entry(self) -> None:  # moto's own, but for serve_forever's poll_interval
            app = moto.DomainDispatcherApplication(moto.create_backend_app)
            self._server = moto.make_server(
                self._ip_address, self._port, app, True, request_handler=moto.MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=SHUTDOWN_POLL_SECONDS)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per S3 request
    server = QuickStopMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
