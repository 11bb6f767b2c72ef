"""A real PostgreSQL server for the gateway's tests: a pytest plugin, required by the test modules
that use it (``pytest_plugins = ["tests.gateway_postgres"]``), so every module shares one server.

The server is pytest-postgresql's ``postgresql_proc`` (initdb, then ``pg_ctl start``) on
127.0.0.1 at a free port, its data directory under pytest's temporary directory, its Unix socket
in the system's temporary directory, started once per test session (once per worker under
pytest-xdist) and stopped at its end. Each test gets a database of its own (`postgresql_dsn`).

The binaries are the machine's (`find_pg_ctl`: PATH, then Debian's /usr/lib/postgresql/*/bin);
`make setup` installs Debian's ``postgresql`` where they are missing. Without them the tests that
need the server are skipped, saying so, and `tests/test_gateway_postgres.py` fails in CI.

PostgreSQL refuses to run as root ("pg_ctl: cannot be run as root"), and CI runs as root. There,
pg_ctl runs through a wrapper that starts it in a user namespace (unshare(1)) whose only user is
an unprivileged one mapped onto root: the server runs as a non-root user as far as it can tell,
and still owns its files in pytest's root-only temporary directory, so no permission anywhere is
widened.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator, Optional

import pytest
from pytest_postgresql import factories
from pytest_postgresql.janitor import DatabaseJanitor

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
UNPRIVILEGED_ID = 65534  # nobody: present on every Debian system (base-passwd)


def find_pg_ctl() -> Optional[str]:
    """The machine's pg_ctl: on PATH, else the newest of Debian's /usr/lib/postgresql/VERSION/bin (Debian
    keeps the server's programs off PATH); None if neither has one."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return on_path
    installed = [(int(d.name), d / "bin" / "pg_ctl") for d in DEBIAN_BINARIES.glob("*") if d.name.isdigit()]
    found = sorted((version, pg_ctl) for version, pg_ctl in installed if pg_ctl.is_file())
    return str(found[-1][1]) if found else None


def server_version(pg_ctl: str) -> tuple[int, ...]:
    """``pg_ctl --version`` as numbers: "pg_ctl (PostgreSQL) 15.18 (Debian ...)" -> (15, 18)."""
    printed = subprocess.run([pg_ctl, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    found = re.search(r"\(PostgreSQL\) (\d+(?:\.\d+)*)", printed)
    if not found:
        raise AssertionError(f"{pg_ctl} --version printed {printed!r}: expected 'pg_ctl (PostgreSQL) VERSION'")
    return tuple(int(part) for part in found.group(1).split("."))


PG_CTL = find_pg_ctl()
MISSING = ("no PostgreSQL server binaries: pg_ctl is neither on PATH nor in /usr/lib/postgresql/*/bin "
           "(`make setup` installs Debian's postgresql package)")
AS_ROOT = os.geteuid() == 0
# The factory takes the executable when this module is imported; the wrapper it names is written
# by `pg_ctl_executable` only when the server is needed (and removed after it stopped).
ROOT_WRAPPER = Path(tempfile.gettempdir()) / f"gateway-tests-pg_ctl-{os.getpid()}-{secrets.token_hex(4)}"

postgresql_gateway_proc = factories.postgresql_proc(
    executable=str(ROOT_WRAPPER) if AS_ROOT else (PG_CTL or "pg_ctl"),
    host="127.0.0.1",
    port=None,  # any free port
    unixsocketdir=tempfile.gettempdir(),
    # Loopback only (the default would also listen on ::1); room for the tests' many stores.
    postgres_options="-c listen_addresses=127.0.0.1 -c max_connections=60",
)


@pytest.fixture(scope="session")
def pg_ctl_executable() -> Iterator[str]:
    """The pg_ctl the server is run with (the root wrapper, as root); skips without PostgreSQL."""
    if PG_CTL is None:
        pytest.skip(MISSING)
    if not AS_ROOT:
        yield PG_CTL
        return
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("running as root, PostgreSQL needs unshare(1) (util-linux) to run as an unprivileged user")
    fd = os.open(ROOT_WRAPPER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    with os.fdopen(fd, "w") as script:
        script.write("#!/bin/sh\n# pg_ctl as an unprivileged user mapped onto root (PostgreSQL refuses root).\n"
                     f"exec {unshare} --user --map-user={UNPRIVILEGED_ID} --map-group={UNPRIVILEGED_ID} -- {PG_CTL} \"$@\"\n")
    assert stat.S_IMODE(ROOT_WRAPPER.stat().st_mode) == 0o700
    try:
        yield str(ROOT_WRAPPER)
    finally:
        ROOT_WRAPPER.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def postgresql_server(pg_ctl_executable, request):
    """The running server (pytest-postgresql's executor: ``host``, ``port``, ``user``). Requested
    after `pg_ctl_executable`, so it stops before the wrapper goes."""
    return request.getfixturevalue("postgresql_gateway_proc")


@pytest.fixture
def postgresql_dsn(postgresql_server) -> Iterator[str]:
    """A URL of a fresh, empty database on the test server, dropped after the test (connections and all)."""
    server = postgresql_server
    name = f"gateway_{uuid.uuid4().hex[:16]}"
    with DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname=name, password=server.password):
        yield f"postgresql://{server.user}@{server.host}:{server.port}/{name}"
