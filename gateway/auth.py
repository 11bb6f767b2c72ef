"""Who is asking: every request maps to a ``Principal`` (subject and groups), or is refused with one
reason (``Unauthenticated``; the app answers 401 with the exception's ``WWW-Authenticate`` challenge).

Three ways in, in this order of precedence:

1. **Mutual TLS.** A client certificate wins over any ``Authorization`` header. The TLS layer
   (``gateway.tls``) has already verified it against ``[gateway.tls] client_ca``: chain, validity
   dates and purpose. A certificate from another CA, an expired one or a server certificate never
   reaches HTTP: the TLS handshake fails and the connection is closed, the mutual TLS form of a 401
   (``gateway.tls`` says what the client sees and where the reason is logged). The mapping is
   fixed and simple, so the CA that issues client certificates decides it:
   subject = the certificate subject's common name (exactly one ``CN``); groups = its
   organizational unit values (``OU``), in order. ``CN=alice,OU=researchers,OU=qpu-users`` is the
   subject ``alice`` in the groups ``researchers`` and ``qpu-users``.

   **Or mutual TLS ended at a DMZ reverse proxy** (``[gateway.tls_proxy]``): the proxy asks for a
   client certificate without verifying it (nginx ``ssl_verify_client optional_no_ca`` with
   ``proxy_set_header X-Client-Cert $ssl_client_escaped_cert``; an ALB in mTLS passthrough mode
   sends ``X-Amzn-Mtls-Clientcert``) and passes it on, URL-encoded PEM, the client certificate
   first. The gateway verifies it itself (cryptography's X.509 path validation against
   ``client_ca``: chain, validity dates, clientAuth purpose), so a certificate from another CA or
   an expired one is an HTTP 401 with its reason. The header counts only from a peer in
   ``trusted_proxies`` (the TCP peer; uvicorn's X-Forwarded-For rewriting is off); from anyone
   else it is a 401, since anyone can write a header. The proxy must overwrite the header, never
   pass a client's own on. Same mapping as above.
2. **OIDC bearer token** (``Authorization: Bearer <JWT>``, RFC 6750 §2.1): a JWS-signed JWT
   (RFC 7519) checked with PyJWT against the issuer's keys (``jwks_file``, re-read when it changes,
   or ``jwks_url``, fetched with a bounded timeout and cached). The key is chosen by the token's
   ``kid``; the token's ``alg`` must be in ``[gateway.oidc] algorithms`` (asymmetric only, never
   ``none`` or HS*: ``gateway.config.ALGORITHMS``) and be the key's own algorithm (its JWK ``alg``,
   or the one its type and curve imply: RS256 for an RSA key without ``alg``, ES256/384/512 by
   curve, EdDSA); that defeats the confusion of an HMAC "signature" keyed with a public key. Then
   the issuer, the audience, ``exp``, ``nbf`` and ``iat`` (with ``leeway_seconds``) and the
   required claims ``exp``, ``iat``, ``iss``, ``aud``, ``sub``. Subject = ``sub``; groups = the
   ``groups_claim`` claim when it is a list of strings, else none.
3. **Static API token** (dev only): ``Authorization: Bearer <token>`` whose SHA-256 matches a
   configured ``[[gateway.api_tokens]]`` entry (compared with ``hmac.compare_digest``). A bearer
   token that is not a JWT (RFC 7515 §7.1: three dot-separated parts) is taken for one; outside
   dev it is refused even if a configuration slipped one in.

A subject is one namespace across the three: the certificate ``CN=alice``, the token ``sub``
``alice`` and the API token of ``alice`` are the same subject for policies and quotas.

Fetching the JWKS from a URL blocks (PyJWT uses urllib): call ``authenticate`` from a worker thread
(a plain ``def`` FastAPI dependency runs in one), not on the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import ssl
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn, Optional
from urllib.parse import unquote

import jwt
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError
from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import InvalidSubjectError

from .config import ALGORITHMS, ConfigError, GatewayConfig
from .model import Principal

REALM = "quantum-gateway"
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_CACHE_SECONDS = 300
"""How long a JWKS fetched from a URL is trusted before it is fetched again."""
MAX_TOKEN_CHARS = 16_384

# What Unauthenticated.code can be: one stable word per reason, for clients and the audit log.
NO_CREDENTIALS = "no_credentials"
MALFORMED_HEADER = "malformed_header"
MALFORMED_TOKEN = "malformed_token"
BAD_SIGNATURE = "bad_signature"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
WRONG_ISSUER = "wrong_issuer"
WRONG_AUDIENCE = "wrong_audience"
ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
UNKNOWN_KEY = "unknown_key"
KEYS_UNAVAILABLE = "keys_unavailable"
MISSING_SUBJECT = "missing_subject"
MISSING_CLAIM = "missing_claim"
INVALID_TOKEN = "invalid_token"
OIDC_NOT_CONFIGURED = "oidc_not_configured"
UNKNOWN_API_TOKEN = "unknown_api_token"
TOKEN_OUTSIDE_DEV = "token_outside_dev"
BAD_CERTIFICATE = "bad_certificate"
UNTRUSTED_CERTIFICATE = "untrusted_certificate"
UNTRUSTED_PROXY = "untrusted_proxy"
MAX_PROXIED_CHAIN = 4
"""Certificates a proxied chain may hold: the client's and its intermediates."""

# The Web PKI's rules for the client's certificate, except that a subjectAltName may be absent: the
# subject's CN is the identity here, and the TLS layer (OpenSSL) does not require one either.
_CLIENT_CERTIFICATE_EXTENSIONS = ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)

_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
# RFC 6750 §2.1: credentials = "Bearer" 1*SP b68token; the scheme is case-insensitive (RFC 7235 §2.1).
_BEARER = re.compile(r"bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
# RFC 6750 §3: error_description holds %x20-21 / %x23-5B / %x5D-7E only.
_NOT_IN_DESCRIPTION = re.compile(r'[^\x20-\x21\x23-\x5b\x5d-\x7e]')

_log = logging.getLogger(__name__)


class Unauthenticated(Exception):
    """A request that could not be authenticated: HTTP 401 with ``{"error": "unauthenticated",
    "reason": reason}`` and ``WWW-Authenticate: www_authenticate`` (RFC 7235 §4.1)."""

    def __init__(self, reason: str, *, code: str = INVALID_TOKEN, www_authenticate: str = f'Bearer realm="{REALM}"'):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.www_authenticate = www_authenticate


class Authenticator:
    """Maps a request's credentials (its ``Authorization`` header and its verified client
    certificate) to a ``Principal``, or raises ``Unauthenticated`` with one reason.

    ``jwks_ssl_context`` verifies the JWKS URL's server (default: the system's trusted CAs);
    ``jwks_timeout_seconds`` bounds each network operation of a fetch. Thread-safe."""

    def __init__(self, config: GatewayConfig, *, jwks_ssl_context: Optional[ssl.SSLContext] = None,
                 jwks_timeout_seconds: float = JWKS_TIMEOUT_SECONDS):
        self._config = config
        self._dev = config.environment == "dev"
        self._api_tokens = config.api_tokens if self._dev else ()
        self._oidc = config.oidc
        self._keys: Optional[_JwksFile | _JwksUrl] = None
        if self._oidc is not None:
            refused = [a for a in self._oidc.algorithms if a not in ALGORITHMS]
            if refused or not self._oidc.algorithms:
                raise ConfigError(f"gateway.oidc.algorithms={list(self._oidc.algorithms)!r} is not allowed: "
                                  f"expected asymmetric algorithms from {', '.join(sorted(ALGORITHMS))}")
            if self._oidc.jwks_file is not None:
                self._keys = _JwksFile(Path(self._oidc.jwks_file))
            elif self._oidc.jwks_url is not None:
                self._keys = _JwksUrl(self._oidc.jwks_url, jwks_timeout_seconds, jwks_ssl_context)
            else:
                raise ConfigError("gateway.oidc=None is not allowed: expected exactly one of jwks_file and jwks_url")
        self._accepts_bearer = self._oidc is not None or bool(self._api_tokens)
        self._proxy = config.tls_proxy
        if self._proxy is not None:
            try:
                authorities = x509.load_pem_x509_certificates(Path(self._proxy.client_ca).read_bytes())
            except (OSError, ValueError) as error:
                raise ConfigError(f"gateway.tls_proxy.client_ca={str(self._proxy.client_ca)!r} is not allowed: "
                                  f"expected a PEM file of CA certificates ({error})") from None
            self._proxy_store = Store(authorities)
            self._proxy_networks = tuple(ipaddress.ip_network(cidr) for cidr in self._proxy.trusted_proxies)

    def authenticate(self, authorization: Optional[str], client_cert_der: Optional[bytes], *,
                     proxied_certificate: Optional[str] = None, peer: Optional[str] = None) -> Principal:
        """The principal for these credentials; ``Unauthenticated`` otherwise.

        ``client_cert_der`` is the certificate the TLS layer verified (``gateway.tls.client_cert_der``);
        ``proxied_certificate`` the ``[gateway.tls_proxy] header`` of a request from ``peer`` (its
        TCP peer address), not yet verified."""
        if client_cert_der is not None:
            if self._config.tls is None:
                self._refuse(BAD_CERTIFICATE, "client certificate refused: mutual TLS is not configured ([gateway.tls]), so nothing verified it")
            return self._certificate_principal(self._certificate(client_cert_der))
        if proxied_certificate is not None:
            return self._certificate_principal(self._proxied_certificate(proxied_certificate, peer))
        if authorization is None:
            ways = "a client certificate" + (" or an 'Authorization: Bearer <token>' header" if self._accepts_bearer else "")
            self._refuse(NO_CREDENTIALS, f"no credentials: present {ways}")
        token = self._bearer_token(authorization)
        if token.count(".") == 2 and self._oidc is not None:
            return self._oidc_principal(token)
        return self._api_token_principal(token)

    # -- mutual TLS

    def _certificate(self, der: bytes) -> x509.Certificate:
        try:
            return x509.load_der_x509_certificate(der)
        except ValueError:
            self._refuse(BAD_CERTIFICATE, "client certificate refused: not a readable X.509 certificate")

    def _proxied_certificate(self, header: str, peer: Optional[str]) -> x509.Certificate:
        """The proxied client certificate, verified here as the TLS layer would have (RFC 5280 path
        validation by cryptography, the clientAuth purpose included); its validity dates first, so
        an expired certificate is named as such."""
        proxy = self._proxy
        if proxy is None:
            self._refuse(BAD_CERTIFICATE, "client certificate header refused: [gateway.tls_proxy] is not configured")
        if not self._trusted_proxy(peer):
            self._refuse(UNTRUSTED_PROXY, f"client certificate header refused: {_show(peer)} is not a trusted proxy "
                                          "([gateway.tls_proxy] trusted_proxies)")
        try:
            chain = x509.load_pem_x509_certificates(unquote(header, errors="strict").encode("ascii"))
        except (ValueError, UnicodeError):
            self._refuse(BAD_CERTIFICATE, f"client certificate refused: {proxy.header} is not a URL-encoded PEM certificate")
        if len(chain) > MAX_PROXIED_CHAIN:
            self._refuse(BAD_CERTIFICATE, f"client certificate refused: a chain of {len(chain)} certificates; at most {MAX_PROXIED_CHAIN}")
        leaf, now = chain[0], datetime.now(timezone.utc)
        if now > leaf.not_valid_after_utc:
            self._refuse(EXPIRED, f"expired client certificate: valid until {leaf.not_valid_after_utc.isoformat()}")
        if now < leaf.not_valid_before_utc:
            self._refuse(NOT_YET_VALID, f"client certificate not yet valid: valid from {leaf.not_valid_before_utc.isoformat()}")
        verifier = (PolicyBuilder().store(self._proxy_store).time(now)
                    .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_CLIENT_CERTIFICATE_EXTENSIONS)
                    .build_client_verifier())
        try:
            verifier.verify(leaf, chain[1:])
        except VerificationError as error:
            self._refuse(UNTRUSTED_CERTIFICATE, f"untrusted client certificate {_show(leaf.subject.rfc4514_string())}: "
                                                f"not issued for clients by the configured CA ({error})")
        return leaf

    def _trusted_proxy(self, peer: Optional[str]) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        return any(address in network for network in self._proxy_networks)

    def _certificate_principal(self, certificate: x509.Certificate) -> Principal:
        subject = certificate.subject
        names = [attribute.value for attribute in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if len(names) != 1 or not str(names[0]).strip():
            self._refuse(MISSING_SUBJECT, f"missing subject: the client certificate {_show(subject.rfc4514_string())} "
                                          f"needs exactly one non-empty common name (CN); it has {len(names)}")
        units = (str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME))
        return Principal(subject=str(names[0]), groups=tuple(dict.fromkeys(u for u in units if u)), method="mtls")

    # -- bearer tokens

    def _bearer_token(self, authorization: str) -> str:
        if len(authorization) > MAX_TOKEN_CHARS:
            self._refuse(MALFORMED_HEADER, f"malformed Authorization header: longer than {MAX_TOKEN_CHARS} characters")
        match = _BEARER.fullmatch(authorization.strip())
        if match is None:
            self._refuse(MALFORMED_HEADER, "malformed Authorization header: expected 'Bearer <token>' (RFC 6750 §2.1)")
        return match.group(1)

    def _oidc_principal(self, token: str) -> Principal:
        oidc = self._oidc
        assert oidc is not None and self._keys is not None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            self._refuse(MALFORMED_TOKEN, f"malformed token: {error}")
        alg = header.get("alg")
        if alg not in oidc.algorithms:
            self._refuse(ALGORITHM_NOT_ALLOWED, f"algorithm not allowed: {_show(alg)} (allowed: {', '.join(oidc.algorithms)})")
        kid = header.get("kid")
        if not kid:
            self._refuse(UNKNOWN_KEY, "unknown key id: the token names no key (no 'kid' header)")
        try:
            candidates = self._keys.find(kid)
        except _KeysUnavailable as error:
            self._refuse(KEYS_UNAVAILABLE, f"signing keys unavailable: {error}")
        if not candidates:
            self._refuse(UNKNOWN_KEY, f"unknown key id {_show(kid)}: not in the issuer's key set")
        key = next((k for k in candidates if k.algorithm_name == alg), None)
        if key is None:
            self._refuse(ALGORITHM_NOT_ALLOWED, f"algorithm not allowed: {alg} does not match the key {_show(kid)} "
                                                f"({', '.join(k.algorithm_name for k in candidates)})")
        try:
            claims = jwt.decode(token, key=key, algorithms=[alg], audience=oidc.audience, issuer=oidc.issuer,
                                leeway=oidc.leeway_seconds,
                                options={"require": _REQUIRED_CLAIMS, "enforce_minimum_key_length": True})
        except jwt.InvalidSignatureError:
            self._refuse(BAD_SIGNATURE, f"bad signature: the token was not signed with the key {_show(kid)}")
        except jwt.ExpiredSignatureError:
            self._refuse(EXPIRED, f"expired: at {_claim_time(token, 'exp')} (leeway {oidc.leeway_seconds} s)")
        except jwt.ImmatureSignatureError:
            self._refuse(NOT_YET_VALID, f"not yet valid: not before {_claim_time(token, 'nbf')}, issued at "
                                        f"{_claim_time(token, 'iat')} (leeway {oidc.leeway_seconds} s)")
        except jwt.InvalidIssuerError:
            self._refuse(WRONG_ISSUER, f"wrong issuer: expected {oidc.issuer!r}")
        except jwt.InvalidAudienceError:
            self._refuse(WRONG_AUDIENCE, f"wrong audience: expected {oidc.audience!r}")
        except jwt.MissingRequiredClaimError as error:
            if error.claim == "sub":
                self._refuse(MISSING_SUBJECT, "missing subject: the token has no 'sub' claim")
            self._refuse(MISSING_CLAIM, f"missing claim: the token has no {error.claim!r} (required: {', '.join(_REQUIRED_CLAIMS)})")
        except InvalidSubjectError:
            self._refuse(MISSING_SUBJECT, "missing subject: the token's 'sub' claim is not a string")
        except jwt.DecodeError as error:
            self._refuse(MALFORMED_TOKEN, f"malformed token: {error}")
        except jwt.InvalidKeyError as error:
            self._refuse(INVALID_TOKEN, f"invalid token: the key {_show(kid)} is not acceptable ({error})")
        except jwt.PyJWTError as error:
            self._refuse(INVALID_TOKEN, f"invalid token: {error}")
        subject = claims["sub"]
        if not subject.strip():
            self._refuse(MISSING_SUBJECT, "missing subject: the token's 'sub' claim is empty")
        if len(subject) > 255 or any(ord(c) < 32 or ord(c) == 127 for c in subject):
            # OpenID Connect Core 1.0, section 2: sub is at most 255 ASCII characters.
            self._refuse(MISSING_SUBJECT, "invalid subject: the token's 'sub' claim is over 255 characters or holds control characters")
        groups = claims.get(oidc.groups_claim)
        if not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
            groups = []
        return Principal(subject=subject, groups=tuple(dict.fromkeys(g for g in groups if g)), method="oidc")

    def _api_token_principal(self, token: str) -> Principal:
        if token.count(".") == 2 and not self._dev:
            self._refuse(OIDC_NOT_CONFIGURED, "bearer JWTs are not accepted: OIDC is not configured ([gateway.oidc])")
        if not self._dev:
            self._refuse(TOKEN_OUTSIDE_DEV, f"API tokens are accepted in dev only; this gateway runs "
                                            f"{self._config.environment!r} (use a client certificate or OIDC)")
        digest = hashlib.sha256(token.encode("ascii")).hexdigest()
        # Compare with every entry, without stopping early: the time taken says nothing of which matched.
        matches = [t for t in self._api_tokens if hmac.compare_digest(digest, t.sha256)]
        if not matches:
            self._refuse(UNKNOWN_API_TOKEN, "unknown API token")
        return Principal(subject=matches[0].subject, groups=matches[0].groups, method="token")

    # -- refusals

    def _refuse(self, code: str, reason: str) -> NoReturn:
        raise Unauthenticated(reason, code=code, www_authenticate=self._challenge(code, reason))

    def _challenge(self, code: str, reason: str) -> str:
        """The WWW-Authenticate challenge (RFC 7235 §4.1): Bearer with RFC 6750 §3's error attributes
        when bearer tokens are accepted (none for a request without credentials, §3.1); otherwise
        the gateway takes client certificates only, which no registered HTTP scheme names."""
        if not self._accepts_bearer:
            return f'ClientCertificate realm="{REALM}"'
        if code == NO_CREDENTIALS:
            return f'Bearer realm="{REALM}"'
        error = "invalid_request" if code == MALFORMED_HEADER else "invalid_token"
        description = _NOT_IN_DESCRIPTION.sub("?", reason)[:200]
        return f'Bearer realm="{REALM}", error="{error}", error_description="{description}"'


class _KeysUnavailable(Exception):
    """The issuer's key set cannot be had right now (the URL is unreachable or answers nonsense)."""


def _signing_keys(jwks: Any) -> dict[str, list[PyJWK]]:
    """Signing keys by ``kid`` (RFC 7517 §4.2, §4.5): keys for encryption or without a kid are left out;
    one kid may name several keys of different types."""
    if not isinstance(jwks, dict):
        raise ValueError("not a JSON object")
    keys: dict[str, list[PyJWK]] = {}
    for key in PyJWKSet.from_dict(jwks).keys:
        if key.public_key_use in ("sig", None) and key.key_id:
            keys.setdefault(key.key_id, []).append(key)
    if not keys:
        raise ValueError("no signing key with a 'kid'")
    return keys


class _JwksFile:
    """The keys of a JWKS file, read again whenever the file changes: keys rotate without a restart.
    A change that cannot be read keeps the last good keys (and says so in the log)."""

    def __init__(self, path: Path):
        self._path = path
        self._lock = threading.Lock()
        self._stamp: Optional[tuple[int, int]] = None
        self._keys: dict[str, list[PyJWK]] = {}
        try:
            self._reload_if_changed()
        except (OSError, ValueError, jwt.PyJWTError) as error:
            raise ConfigError(f"gateway.oidc.jwks_file={str(path)!r} is not allowed: expected a JSON Web Key Set "
                              f"(RFC 7517 §5) with signing keys ({error})") from None

    def find(self, kid: str) -> list[PyJWK]:
        try:
            self._reload_if_changed()
        except (OSError, ValueError, jwt.PyJWTError) as error:
            _log.warning("JWKS file %s changed but cannot be read (%s): keeping the keys read before", self._path, error)
        return self._keys.get(kid, [])

    def _reload_if_changed(self) -> None:
        status = self._path.stat()
        stamp = (status.st_mtime_ns, status.st_size)
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            try:
                self._keys = _signing_keys(json.loads(self._path.read_text(encoding="utf-8")))
            finally:
                self._stamp = stamp  # a bad file is reported once, not on every request


class _JwksUrl:
    """The keys at a JWKS URL, through PyJWT's client: the set is cached for ``JWKS_CACHE_SECONDS``;
    an unknown kid fetches it again at most once per ``cooldown_duration`` (a rotated key is found,
    a flood of made-up kids does not flood the issuer)."""

    def __init__(self, url: str, timeout_seconds: float, ssl_context: Optional[ssl.SSLContext]):
        self._url = url
        self._client = PyJWKClient(url, cache_jwk_set=True, lifespan=JWKS_CACHE_SECONDS, timeout=timeout_seconds,
                                   ssl_context=ssl_context or ssl.create_default_context(), cooldown_duration=30)

    def find(self, kid: str) -> list[PyJWK]:
        try:
            matches = [k for k in self._client.get_signing_keys() if k.key_id == kid]
        except (jwt.PyJWTError, OSError, ValueError) as error:  # urllib, JSON and JWKS errors alike
            raise _KeysUnavailable(f"cannot read the JWKS at {self._url} ({error})") from None
        if matches:
            return matches
        try:
            return [self._client.get_signing_key(kid)]  # fetched again, unless fetched moments ago
        except jwt.PyJWKClientConnectionError as error:
            raise _KeysUnavailable(f"cannot read the JWKS at {self._url} ({error})") from None
        except (jwt.PyJWTError, OSError, ValueError):
            return []


def _claim_time(token: str, claim: str) -> str:
    """A time claim of a token whose signature PyJWT has verified, for a refusal's reason."""
    try:
        value = jwt.decode(token, options={"verify_signature": False}).get(claim)
        return datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="seconds")
    except (jwt.PyJWTError, TypeError, ValueError, OverflowError, OSError):
        return "(none)"


def _show(value: Any) -> str:
    """Untrusted text for a reason: quoted, printable, short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
