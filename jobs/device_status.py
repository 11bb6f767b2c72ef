"""Live status of Braket devices for `python -m jobs devices`: concurrent, bounded in time, never fatal.

The Braket client is built as the run path builds it (a boto3 Session wrapped in the SDK's
``AwsSession``), so the endpoint settings that reach `run` reach `devices` too:
``BRAKET_ENDPOINT`` (applied by ``AwsSession``), and botocore's configured endpoints
``AWS_ENDPOINT_URL_BRAKET`` / ``AWS_ENDPOINT_URL`` (used when ``BRAKET_ENDPOINT`` is unset).

boto3 and the SDK are imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:
    from botocore.config import Config
    from braket.aws import AwsSession

    from .devices import Device

UNKNOWN = "unknown"
"""The status of a device that did not answer in time, or could not be asked (no credentials, denied, throttled...)."""


def aws_session(region: Optional[str], *, config: Optional["Config"] = None, default_bucket: Optional[str] = None) -> "AwsSession":
    """The SDK session for ``region``: a boto3 Session wrapped in ``braket.aws.AwsSession``.

    The one place a Braket endpoint is resolved: ``AwsSession`` passes ``BRAKET_ENDPOINT``
    as the client's endpoint URL; when it is unset, botocore applies its configured endpoints
    (``AWS_ENDPOINT_URL_BRAKET``, ``AWS_ENDPOINT_URL``, ``endpoint_url`` in the profile).
    ``config`` is merged over the SDK's own (its user agent). ``default_bucket``: the bucket the SDK
    uses where none is named (without it, hybrid jobs create ``amazon-braket-<region>-<account>``).
    """
    import boto3
    import botocore.session
    from braket.aws import AwsSession

    # A new botocore session re-reads botocore's data files (endpoints, service models): 70 ms of
    # JSON per session. One loader per process keeps what was read; sessions stay separate.
    core = botocore.session.get_session()
    core.register_component("data_loader", _botocore_data_loader())
    boto_session = boto3.Session(region_name=region, botocore_session=core)
    return AwsSession(boto_session=boto_session, config=config, default_bucket=default_bucket)


@functools.cache
def _botocore_data_loader():
    import botocore.loaders

    return botocore.loaders.create_loader()


def braket_client(region: Optional[str], *, connect_timeout: float, read_timeout: float, max_attempts: int):
    """A boto3 ``braket`` client for ``region``, resolved as the run path resolves it (see ``aws_session``).

    ``max_attempts`` counts every attempt, the first included (botocore's ``total_max_attempts``):
    1 means no retry.
    """
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
    )
    return aws_session(region, config=config).braket_client


def live_statuses(devices: Sequence["Device"], region: str, *, deadline_seconds: float) -> dict[str, str]:
    """Device ARN -> ONLINE/OFFLINE/RETIRED as Braket's GetDevice reports it now, else ``unknown``.

    The local simulator is ONLINE without a call. Remote devices are asked all at once, each
    in a daemon thread with short timeouts and no retry: QPUs in their own region, simulators
    in ``region`` (the stack's). The call returns within ``deadline_seconds`` whatever the
    network does; a device that has not answered by then is ``unknown`` and its thread is
    left behind (a daemon: it never holds up the process's exit). When boto3 finds no
    credentials at all, every remote device is ``unknown`` and no request is sent.
    """
    deadline = time.monotonic() + max(0.0, deadline_seconds)
    found: dict[str, str] = {}
    remote: dict[str, "Device"] = {}
    for device in devices:
        if device.kind == "local":
            found[device.arn] = "ONLINE"
        else:
            remote.setdefault(device.arn, device)
    if remote and deadline_seconds > 0:
        found.update(_ask_all(list(remote.values()), region, deadline))
    return {device.arn: found.get(device.arn, UNKNOWN) for device in devices}


class _Clients:
    """One Braket client per region, built on first use (serially: botocore's sessions are not thread-safe)."""

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._clients: dict[Optional[str], object] = {}
        self._credentials: Optional[bool] = None
        # Short timeouts, one attempt: a status is informational, and the caller stops waiting anyway.
        self._timeouts = {"connect_timeout": min(3.0, timeout), "read_timeout": timeout, "max_attempts": 1}

    def get(self, region: Optional[str]):
        """The client for ``region``; None when boto3 finds no credentials (then nothing is ever sent)."""
        with self._lock:
            if self._credentials is None:
                import boto3

                self._credentials = boto3.Session(region_name=region).get_credentials() is not None
            if not self._credentials:
                return None
            if region not in self._clients:
                self._clients[region] = braket_client(region, **self._timeouts)
            return self._clients[region]


def _ask_all(devices: list["Device"], region: str, deadline: float) -> dict[str, str]:
    answers: dict[str, str] = {}
    answered = threading.Condition()
    clients = _Clients(timeout=max(0.5, deadline - time.monotonic()))

    def ask(device: "Device") -> None:
        status = UNKNOWN
        try:
            client = clients.get(device.region or region or None)
            if client is not None and time.monotonic() < deadline:
                status = str(client.get_device(deviceArn=device.arn)["deviceStatus"]) or UNKNOWN
        except Exception:  # no answer, refused, denied, throttled, not found: the status is informational only
            status = UNKNOWN
        with answered:
            answers[device.arn] = status
            answered.notify_all()

    for device in devices:
        threading.Thread(target=ask, args=(device,), name=f"braket-status-{device.alias}", daemon=True).start()
    with answered:
        answered.wait_for(lambda: len(answers) == len(devices), timeout=max(0.0, deadline - time.monotonic()))
        return dict(answers)
