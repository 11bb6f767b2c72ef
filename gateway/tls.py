"""Mutual TLS for the gateway: the uvicorn settings, and the client certificate handed to the app.

The TLS layer does the verifying. uvicorn's server context requests a client certificate
(``CERT_OPTIONAL``) and trusts only ``[gateway.tls] client_ca``, so OpenSSL checks the chain,
the validity dates and the purpose (clientAuth) during the handshake. A certificate from another
CA, an expired one, or one not meant for clients never reaches HTTP: the handshake fails and the
connection is closed, which is the mutual TLS form of a 401. The client sees the connection close
(in TLS 1.2 during its handshake, in TLS 1.3 at its first read, since its side of the handshake
ends before the server has checked the certificate); the TLS alert naming the reason (RFC 8446
§6.2: ``unknown_ca``, ``certificate_expired``, ``unsupported_certificate``) is dropped by asyncio
(CPython gh-98078), so the reason is in the gateway's log (logger ``gateway.tls``) instead.
Where a client must get an HTTP 401 with the reason instead, end TLS at a reverse proxy and let
the gateway verify the certificate it passes on (``[gateway.tls_proxy]``, ``gateway.auth``).
``CERT_OPTIONAL`` rather than ``CERT_REQUIRED`` so that a client without a certificate can still
present an OIDC bearer token; such a request reaches the app without one and ``gateway.auth``
decides.

uvicorn (0.54) does not put the client certificate in the ASGI scope. ``ClientCertificateProtocol``
does, in the ASGI TLS extension's shape (asgiref ``specs/tls.rst``, version 0.2):
``scope["extensions"]["tls"]`` with ``client_cert_chain`` (PEM, the client certificate first),
``client_cert_name`` (RFC 4514), ``client_cert_error`` (always None: a failed verification ends
the connection), ``server_cert``, ``tls_version`` and ``cipher_suite``. Python's ``ssl`` (before
3.13) exposes only the peer's own certificate, so the chain holds that one certificate.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from functools import lru_cache
from typing import Any, Callable, Optional

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from uvicorn.protocols.http.h11_impl import H11Protocol

from .config import TlsConfig

# TLS versions as the ASGI TLS extension reports them: the protocol's own numbers (RFC 8446 §4.2.1).
_TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}

_log = logging.getLogger(__name__)


def uvicorn_ssl_settings(tls: TlsConfig) -> dict[str, Any]:
    """``uvicorn.Config`` keyword arguments for mutual TLS with ``tls`` (TLS 1.2 at least).

    Use with ``http=ClientCertificateProtocol`` so the app sees the client certificate:
    ``uvicorn.Config(app, http=ClientCertificateProtocol, **uvicorn_ssl_settings(config.tls))``."""
    return {
        "ssl_certfile": str(tls.certificate),
        "ssl_keyfile": str(tls.key),
        "ssl_ca_certs": str(tls.client_ca),
        "ssl_cert_reqs": ssl.CERT_OPTIONAL,
        "ssl_context_factory": _harden,
    }


def _harden(config: Any, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's own context (certificate, key, client CA, verify mode from the settings above),
    with TLS 1.2 as the floor, strict X.509 checking of client certificates (RFC 5280 rules
    OpenSSL otherwise tolerates, such as a CA certificate without critical basicConstraints), and
    refused handshakes logged with their reason."""
    context = default_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.sslobject_class = _LoggedHandshake
    return context


class _LoggedHandshake(ssl.SSLObject):
    """asyncio's TLS (the one uvicorn uses) says nothing of a refused handshake: the error is
    logged only in asyncio's debug mode, and the alert that would tell the client why is dropped
    (CPython gh-98078: the client sees the connection closed). So the operator at least learns
    why a certificate was refused (OpenSSL's verify message; the subject of a certificate that
    failed is not available); the client learns only that the connection was closed."""

    def do_handshake(self) -> None:
        try:
            super().do_handshake()
        except ssl.SSLCertVerificationError as error:
            _log.warning("TLS handshake refused: client certificate not accepted (%s)", error.verify_message)
            raise
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise
        except ssl.SSLError as error:
            _log.info("TLS handshake failed: %s", error.reason or error)
            raise


class ClientCertificateProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus the ASGI TLS extension in every request's scope.

    asyncio calls ``connection_made`` once the TLS handshake is complete, so the verified peer
    certificate is known for the whole connection; the app uvicorn calls for each request is
    wrapped to add it to the scope (the one hook that needs no copy of uvicorn's request parsing)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:  # plain HTTP: the extension must be absent (the spec's rule)
            self.app = _with_tls_extension(self.app, _tls_extension(ssl_object, self.config.ssl_certfile))


TLS_PROTOCOL = ClientCertificateProtocol
"""What to pass as ``uvicorn.Config(http=...)`` when serving TLS."""


def client_cert_der(scope: dict) -> Optional[bytes]:
    """The client certificate of this request's connection (DER), or None when there is none."""
    tls = scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or ()
    return ssl.PEM_cert_to_DER_cert(chain[0]) if chain else None


def _with_tls_extension(app: Callable, extension: dict) -> Callable:
    async def app_with_tls(scope: dict, receive: Callable, send: Callable) -> None:
        scope["extensions"] = {**scope.get("extensions", {}), "tls": dict(extension)}
        await app(scope, receive, send)

    return app_with_tls


def _tls_extension(ssl_object: ssl.SSLObject, server_certfile: Any) -> dict:
    der = ssl_object.getpeercert(binary_form=True)
    cipher = ssl_object.cipher()
    return {
        "server_cert": _server_certificate(str(server_certfile)) if server_certfile else None,
        "client_cert_chain": (ssl.DER_cert_to_PEM_cert(der),) if der else (),
        "client_cert_name": _subject_name(der) if der else None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": _cipher_suites(ssl_object.context).get(cipher[0]) if cipher else None,
    }


def _subject_name(der: bytes) -> Optional[str]:
    """The certificate's subject as RFC 4514 text; None if ``cryptography`` cannot read what
    OpenSSL accepted (the app then refuses the certificate with its own reason)."""
    try:
        return x509.load_der_x509_certificate(der).subject.rfc4514_string()
    except ValueError:
        return None


@lru_cache(maxsize=4)
def _server_certificate(certfile: str) -> Optional[str]:
    """The first certificate of the server's certificate file (PEM), read once."""
    try:
        with open(certfile, "rb") as file:
            return x509.load_pem_x509_certificates(file.read())[0].public_bytes(Encoding.PEM).decode("ascii")
    except (OSError, ValueError, IndexError):
        return None


def _cipher_suites(context: ssl.SSLContext) -> dict[str, int]:
    """OpenSSL cipher names -> IANA cipher suite numbers (the low 16 bits of OpenSSL's id)."""
    return {cipher["name"]: cipher["id"] & 0xFFFF for cipher in context.get_ciphers()}
