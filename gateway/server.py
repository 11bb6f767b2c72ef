"""Serving: the API under uvicorn, the forwarder and the audit shipper beside it, all stopped gracefully on
SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

import uvicorn

from jobs.errors import UsageError
from jobs.stack_outputs import resolve_outputs

from .app import create_app
from .audit import AuditLog, AuditTrail
from .config import ConfigError, load_config
from .forwarder import Forwarder
from .policy import PolicyEngine
from .shipping import AuditShipper, s3_client
from .store import StoreError, open_store
from .tls import TLS_PROTOCOL, uvicorn_ssl_settings

EXIT_USAGE = 2
"""Bad input: one line on stderr, nothing served."""


class GracefulServer(uvicorn.Server):
    """SIGINT or SIGTERM: stop accepting, finish what is in flight, then return, so the forwarder
    stops and the store closes. (uvicorn re-raises the signal after its own shutdown, which would
    end the process before them.)"""

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def serve(env: str, config_path: Path) -> int:
    try:
        config = load_config(config_path, env)
        outputs = resolve_outputs(env)
    except (ConfigError, UsageError, ValueError) as error:
        print(f"gateway: {error}", file=sys.stderr)
        return EXIT_USAGE
    devices = config.braket.devices or tuple(outputs.allowed_devices)
    not_allowed = sorted(set(devices) - set(outputs.allowed_devices))
    if not_allowed:
        print(f"gateway: gateway.braket.devices={not_allowed} is not allowed: expected devices the {env} stack allows", file=sys.stderr)
        return EXIT_USAGE
    shipping = config.audit_shipping
    audit_bucket = (shipping.bucket or outputs.audit_bucket_name) if shipping else None
    if shipping and not audit_bucket:
        print(f"gateway: gateway.audit_shipping.bucket=None is not allowed: expected a bucket name "
              f"(the {env} stack has no audit bucket output)", file=sys.stderr)
        return EXIT_USAGE
    if config.braket.endpoint_url:
        os.environ["BRAKET_ENDPOINT"] = config.braket.endpoint_url  # the private endpoint, where DNS does not name it

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        policy = PolicyEngine.load(config.policies, config.zone)
    except ConfigError as error:
        print(f"gateway: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        store = open_store(config.database)
    except StoreError as error:
        print(f"gateway: {error}", file=sys.stderr)
        return EXIT_USAGE
    audit = AuditTrail(AuditLog(config.audit_log), store)
    app = create_app(config, store=store, audit=audit, policy=policy, devices=devices)
    forwarder = Forwarder(
        store, region=outputs.region, bucket=config.braket.results_bucket or outputs.results_bucket_name,
        prefix=config.braket.results_prefix, worker=f"{socket.gethostname()}-{os.getpid()}", audit=audit,
    )
    shipper = AuditShipper(
        store, audit, s3_client(outputs.region, shipping.endpoint_url), bucket=audit_bucket, prefix=shipping.prefix,
        env=env, interval_seconds=shipping.interval_seconds, max_records_per_object=shipping.max_records_per_object,
    ) if shipping else None
    settings = uvicorn_ssl_settings(config.tls) if config.tls else {}
    server = GracefulServer(uvicorn.Config(
        app, host=config.host, port=config.port, http=TLS_PROTOCOL if config.tls else "h11",
        log_level="info", timeout_graceful_shutdown=10,
        # The TCP peer is the client (or the [gateway.tls_proxy] proxy): never an X-Forwarded-For.
        proxy_headers=False, **settings,
    ))
    # Import the SDK's modules once, here, before threads do it at once (Python can then see a
    # partly initialized braket.aws: "cannot import name 'QuantumTask'").
    import braket.aws  # noqa: F401
    import braket.devices  # noqa: F401

    forwarder.start()
    if shipper is not None:
        shipper.start()
    try:
        server.run()  # until SIGINT or SIGTERM: stops accepting, finishes the requests in flight
    finally:
        forwarder.stop()
        if shipper is not None:  # after the forwarder, whose last records then go in the last round
            shipper.stop()
        store.close()
    return 0
