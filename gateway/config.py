"""The gateway's typed configuration, read from a TOML file (``--config FILE``) for one environment.

Every error names the setting, the value and what is allowed, in one line (``ConfigError``).
Relative paths are relative to the configuration file.

    [gateway]
    host = "127.0.0.1"          # the DMZ address to listen on
    port = 8443
    database = "gateway.sqlite3"   # or "postgresql://user@host/db"
    audit_log = "audit.jsonl"
    audit_program_text = false
    policies = "policies"          # a folder of *.cedar files
    timezone = "Europe/London"     # office hours in the policies are local time
    rate_limit_per_minute = 60

    [gateway.limits]
    max_body_bytes = 262144
    max_qubits = 32
    max_gates = 10000
    max_depth = 5000
    max_shots = 100000

    [gateway.tls]                  # mutual TLS (required outside dev)
    certificate = "server.pem"
    key = "server.key"
    client_ca = "clients-ca.pem"

    [gateway.tls_proxy]            # or: mutual TLS ended at a DMZ reverse proxy in front of the gateway
    client_ca = "clients-ca.pem"   # the gateway verifies the certificate the proxy passes on
    header = "X-Client-Cert"       # URL-encoded PEM (nginx $ssl_client_escaped_cert, ALB mTLS passthrough)
    trusted_proxies = ["10.20.0.5/32"]   # only these peers may send the header

    [gateway.oidc]                 # bearer tokens (optional)
    issuer = "https://login.example"
    audience = "quantum-gateway"
    jwks_file = "jwks.json"        # or jwks_url = "https://login.example/jwks"
    algorithms = ["RS256", "ES256"]
    groups_claim = "groups"

    [[gateway.api_tokens]]         # dev only: static tokens, stored as SHA-256
    subject = "alice"
    groups = ["researchers"]
    sha256 = "9f86d0..."

    [gateway.braket]
    devices = ["arn:aws:braket:::device/quantum-simulator/amazon/sv1"]   # default: the stack's allowed_devices
    results_bucket = "amazon-braket-..."    # default: the stack's outputs
    results_prefix = "gateway"
    endpoint_url = "https://vpce-...braket.us-east-1.vpce.amazonaws.com"   # the private endpoint, if not by DNS

    [gateway.audit_shipping]       # copy the audit chain to the Object Lock bucket (optional)
    bucket = "quantum-cloud-audit-prod"   # default: the stack's audit_bucket_name
    prefix = "audit"               # objects are <prefix>/<env>/<first seq>-<last seq>.jsonl
    interval_seconds = 60
    max_records_per_object = 10000
    endpoint_url = "https://bucket.vpce-...s3.us-east-1.vpce.amazonaws.com"   # the S3 interface endpoint, if needed
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
"""Asymmetric JWT algorithms only: a shared-secret (HS*) or unsigned ("none") token is never accepted."""
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HEADER = re.compile(r"^[A-Za-z0-9-]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
_DEVICE = re.compile(r"^arn:aws[a-z-]*:braket:[a-z0-9-]*::device/[A-Za-z0-9_./-]+$")


class ConfigError(ValueError):
    """A setting that is missing or not allowed (one line)."""


def _fail(setting: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{setting}={value!r} is not allowed: expected {allowed}")


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 262_144
    max_qubits: int = 32
    max_gates: int = 10_000
    max_depth: int = 5_000
    max_shots: int = 100_000


@dataclass(frozen=True)
class TlsConfig:
    certificate: Path
    key: Path
    client_ca: Path
    """Clients must present a certificate this CA signed (mutual TLS)."""


@dataclass(frozen=True)
class TlsProxyConfig:
    """Mutual TLS ended by a reverse proxy that asks for a client certificate without verifying it
    (nginx ``ssl_verify_client optional_no_ca``, an ALB in mTLS passthrough mode) and passes it on
    in ``header``; the gateway verifies it against ``client_ca`` and answers 401 when it fails."""
    client_ca: Path
    trusted_proxies: tuple[str, ...]
    """CIDRs of the proxies: the header from any other peer is refused."""
    header: str = "X-Client-Cert"


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_file: Optional[Path] = None
    jwks_url: Optional[str] = None
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    groups_claim: str = "groups"
    leeway_seconds: int = 30


@dataclass(frozen=True)
class ApiToken:
    subject: str
    sha256: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class BraketConfig:
    devices: tuple[str, ...] = ()
    """Devices the gateway forwards to; empty: the stack's allowed_devices."""
    results_bucket: Optional[str] = None
    results_prefix: str = "gateway"
    endpoint_url: Optional[str] = None


@dataclass(frozen=True)
class AuditShippingConfig:
    bucket: Optional[str] = None
    """Default: the stack's audit bucket (output ``audit_bucket_name``)."""
    prefix: str = "audit"
    interval_seconds: int = 60
    max_records_per_object: int = 10_000
    endpoint_url: Optional[str] = None


@dataclass(frozen=True)
class GatewayConfig:
    environment: str
    host: str = "127.0.0.1"
    port: int = 8443
    database: str = "gateway.sqlite3"
    audit_log: Path = Path("audit.jsonl")
    audit_program_text: bool = False
    policies: Path = Path("policies")
    timezone: str = "UTC"
    rate_limit_per_minute: int = 60
    limits: Limits = field(default_factory=Limits)
    tls: Optional[TlsConfig] = None
    tls_proxy: Optional[TlsProxyConfig] = None
    oidc: Optional[OidcConfig] = None
    api_tokens: tuple[ApiToken, ...] = ()
    braket: BraketConfig = field(default_factory=BraketConfig)
    audit_shipping: Optional[AuditShippingConfig] = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _int(setting: str, value: Any, low: int, high: int) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        _fail(setting, value, f"a whole number from {low} to {high}")
    return value


def _str(setting: str, value: Any) -> str:
    if not (isinstance(value, str) and value):
        _fail(setting, value, "a non-empty string")
    return value


def _strings(setting: str, value: Any) -> tuple[str, ...]:
    if not (isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
        _fail(setting, value, "a list of non-empty strings")
    return tuple(value)


def _path(base: Path, setting: str, value: Any, *, must_exist: bool = True) -> Path:
    path = (base / _str(setting, value)).resolve()
    if must_exist and not path.exists():
        _fail(setting, value, f"an existing file ({path} does not exist)")
    return path


def _known(section: str, table: dict, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        _fail(f"{section}.{unknown[0]}", table[unknown[0]], f"one of the settings {', '.join(sorted(allowed))}")


def load_config(path: Path, environment: str) -> GatewayConfig:
    """The gateway configuration in ``path`` for ``environment``; ``ConfigError`` (one line) otherwise."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"--config {path}: cannot be read ({error.strerror or error})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"--config {path}: not valid TOML ({error})") from None
    return parse_config(data, environment, Path(path).resolve().parent)


def parse_config(data: dict, environment: str, base: Path) -> GatewayConfig:
    gateway = data.get("gateway")
    if not isinstance(gateway, dict):
        _fail("gateway", gateway, "a [gateway] table")
    _known("gateway", gateway, {
        "host", "port", "database", "audit_log", "audit_program_text", "policies", "timezone",
        "rate_limit_per_minute", "limits", "tls", "tls_proxy", "oidc", "api_tokens", "braket", "audit_shipping",
    })
    config: dict[str, Any] = {"environment": environment}
    if "host" in gateway:
        config["host"] = _str("gateway.host", gateway["host"])
    if "port" in gateway:
        config["port"] = _int("gateway.port", gateway["port"], 0, 65535)
    if "database" in gateway:
        database = _str("gateway.database", gateway["database"])
        if not database.startswith("postgresql://"):
            database = str((base / database).resolve())
        config["database"] = database
    if "audit_log" in gateway:
        config["audit_log"] = _path(base, "gateway.audit_log", gateway["audit_log"], must_exist=False)
    if "audit_program_text" in gateway:
        if not isinstance(gateway["audit_program_text"], bool):
            _fail("gateway.audit_program_text", gateway["audit_program_text"], "true or false")
        config["audit_program_text"] = gateway["audit_program_text"]
    if "policies" in gateway:
        config["policies"] = _path(base, "gateway.policies", gateway["policies"])
    else:
        config["policies"] = Path(__file__).resolve().parent / "policies"
    if "timezone" in gateway:
        try:
            ZoneInfo(_str("gateway.timezone", gateway["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            _fail("gateway.timezone", gateway["timezone"], "an IANA time zone such as 'Europe/London'")
        config["timezone"] = gateway["timezone"]
    if "rate_limit_per_minute" in gateway:
        config["rate_limit_per_minute"] = _int("gateway.rate_limit_per_minute", gateway["rate_limit_per_minute"], 1, 100_000)
    if "limits" in gateway:
        limits = gateway["limits"]
        _known("gateway.limits", limits, set(Limits.__dataclass_fields__))
        config["limits"] = Limits(**{k: _int(f"gateway.limits.{k}", v, 1, 10**9) for k, v in limits.items()})
    if "tls" in gateway:
        tls = gateway["tls"]
        _known("gateway.tls", tls, {"certificate", "key", "client_ca"})
        config["tls"] = TlsConfig(**{k: _path(base, f"gateway.tls.{k}", tls.get(k)) for k in ("certificate", "key", "client_ca")})
    if "tls_proxy" in gateway:
        config["tls_proxy"] = _tls_proxy(gateway["tls_proxy"], base)
    if "oidc" in gateway:
        config["oidc"] = _oidc(gateway["oidc"], base)
    if "api_tokens" in gateway:
        config["api_tokens"] = tuple(_token(i, t) for i, t in enumerate(gateway["api_tokens"]))
        if environment != "dev":
            _fail("gateway.api_tokens", f"{len(config['api_tokens'])} tokens", "none outside dev (use mutual TLS or OIDC)")
    if "braket" in gateway:
        config["braket"] = _braket(gateway["braket"])
    if "audit_shipping" in gateway:
        config["audit_shipping"] = _audit_shipping(gateway["audit_shipping"])
    if environment != "dev" and not ("tls" in config or "tls_proxy" in config):
        _fail("gateway.tls", None, f"a [gateway.tls] or [gateway.tls_proxy] table in {environment!r}: "
                                   "outside dev the gateway takes mutual TLS only")
    if not (config.get("tls") or config.get("tls_proxy") or config.get("oidc") or config.get("api_tokens")):
        _fail("gateway", "no authentication", "[gateway.tls], [gateway.tls_proxy], [gateway.oidc] or (dev only) [[gateway.api_tokens]]")
    return GatewayConfig(**config)


def _oidc(table: Any, base: Path) -> OidcConfig:
    table = _table("gateway.oidc", table,
                   {"issuer", "audience", "jwks_file", "jwks_url", "algorithms", "groups_claim", "leeway_seconds"})
    if ("jwks_file" in table) == ("jwks_url" in table):
        _fail("gateway.oidc", sorted(table), "exactly one of jwks_file and jwks_url")
    algorithms = _strings("gateway.oidc.algorithms", table.get("algorithms", ["RS256", "ES256"]))
    if not algorithms or set(algorithms) - ALGORITHMS:
        _fail("gateway.oidc.algorithms", list(algorithms), f"asymmetric algorithms from {', '.join(sorted(ALGORITHMS))}")
    url = table.get("jwks_url")
    if url is not None and not _str("gateway.oidc.jwks_url", url).startswith("https://"):
        _fail("gateway.oidc.jwks_url", url, "an https:// URL")
    return OidcConfig(
        issuer=_str("gateway.oidc.issuer", table.get("issuer")),
        audience=_str("gateway.oidc.audience", table.get("audience")),
        jwks_file=_path(base, "gateway.oidc.jwks_file", table["jwks_file"]) if "jwks_file" in table else None,
        jwks_url=url,
        algorithms=algorithms,
        groups_claim=_str("gateway.oidc.groups_claim", table.get("groups_claim", "groups")),
        leeway_seconds=_int("gateway.oidc.leeway_seconds", table.get("leeway_seconds", 30), 0, 300),
    )


def _token(index: int, table: Any) -> ApiToken:
    setting = f"gateway.api_tokens[{index}]"
    if not isinstance(table, dict):
        _fail(setting, table, "a table with subject, sha256 and groups")
    _known(setting, table, {"subject", "sha256", "groups"})
    digest = table.get("sha256")
    if not (isinstance(digest, str) and _SHA256.match(digest)):
        _fail(f"{setting}.sha256", digest, "the token's SHA-256 as 64 lowercase hex digits (never the token itself)")
    return ApiToken(_str(f"{setting}.subject", table.get("subject")), digest, _strings(f"{setting}.groups", table.get("groups", [])))


def _braket(table: Any) -> BraketConfig:
    table = _table("gateway.braket", table, {"devices", "results_bucket", "results_prefix", "endpoint_url"})
    devices = _strings("gateway.braket.devices", table.get("devices", []))
    bad = [d for d in devices if not _DEVICE.match(d)]
    if bad:
        _fail("gateway.braket.devices", bad[0], "Braket device ARNs")
    endpoint = table.get("endpoint_url")
    if endpoint is not None and not re.match(r"^https?://", _str("gateway.braket.endpoint_url", endpoint)):
        _fail("gateway.braket.endpoint_url", endpoint, "an http(s) URL")
    return BraketConfig(
        devices=devices,
        results_bucket=table.get("results_bucket"),
        results_prefix=_str("gateway.braket.results_prefix", table.get("results_prefix", "gateway")),
        endpoint_url=endpoint,
    )


def _table(setting: str, table: Any, allowed: set[str]) -> dict:
    if not isinstance(table, dict):
        _fail(setting, table, "a table")
    _known(setting, table, allowed)
    return table


def _tls_proxy(table: Any, base: Path) -> TlsProxyConfig:
    table = _table("gateway.tls_proxy", table, {"client_ca", "header", "trusted_proxies"})
    proxies = _strings("gateway.tls_proxy.trusted_proxies", table.get("trusted_proxies"))
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy)
        except ValueError:
            _fail("gateway.tls_proxy.trusted_proxies", proxy, "CIDRs such as '10.20.0.5/32' (host bits zero)")
    if not proxies:
        _fail("gateway.tls_proxy.trusted_proxies", [], "at least one CIDR: the proxies that may pass a client certificate")
    header = _str("gateway.tls_proxy.header", table.get("header", "X-Client-Cert"))
    if not _HEADER.match(header):
        _fail("gateway.tls_proxy.header", header, "an HTTP header name (letters, digits and '-')")
    return TlsProxyConfig(
        client_ca=_path(base, "gateway.tls_proxy.client_ca", table.get("client_ca")),
        trusted_proxies=proxies,
        header=header,
    )


def _audit_shipping(table: Any) -> AuditShippingConfig:
    table = _table("gateway.audit_shipping", table,
                   {"bucket", "prefix", "interval_seconds", "max_records_per_object", "endpoint_url"})
    bucket = table.get("bucket")
    if bucket is not None and not _BUCKET.match(_str("gateway.audit_shipping.bucket", bucket)):
        _fail("gateway.audit_shipping.bucket", bucket, "an S3 bucket name")
    prefix = _str("gateway.audit_shipping.prefix", table.get("prefix", "audit"))
    if not _PREFIX.match(prefix):
        _fail("gateway.audit_shipping.prefix", prefix, "a relative S3 key prefix without leading or trailing '/', e.g. 'audit'")
    endpoint = table.get("endpoint_url")
    if endpoint is not None and not re.match(r"^https?://", _str("gateway.audit_shipping.endpoint_url", endpoint)):
        _fail("gateway.audit_shipping.endpoint_url", endpoint, "an http(s) URL")
    return AuditShippingConfig(
        bucket=bucket,
        prefix=prefix,
        interval_seconds=_int("gateway.audit_shipping.interval_seconds", table.get("interval_seconds", 60), 1, 86_400),
        max_records_per_object=_int("gateway.audit_shipping.max_records_per_object",
                                    table.get("max_records_per_object", 10_000), 1, 1_000_000),
        endpoint_url=endpoint,
    )
