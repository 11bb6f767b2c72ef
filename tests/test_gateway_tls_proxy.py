"""Mutual TLS ended at a DMZ reverse proxy (``[gateway.tls_proxy]``): the gateway's real app under
uvicorn on loopback, receiving what nginx with ``ssl_verify_client optional_no_ca`` and
``proxy_set_header X-Client-Cert $ssl_client_escaped_cert`` sends (the client certificate,
URL-encoded PEM; nginx's ngx_http_ssl_module documentation, ``$ssl_client_escaped_cert``). The
gateway verifies the certificate itself, so the issue's authentication matrix is answered in HTTP:
no credentials, a bad signature, an expired token, a wrong audience, a certificate from another CA
and an expired certificate get 401 with their reason; a valid client gets 202."""

from __future__ import annotations

import time
from typing import Iterator, Optional
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from gateway import auth
from gateway.auth import Authenticator, Unauthenticated
from gateway.config import ConfigError, parse_config
from tests.gateway_fixtures import BELL, SV1, Gateway
from tests.gateway_pki import AUDIENCE, ISSUER, Issued, Jwks, Pki
from tests.test_gateway_auth import jwks, pki, serving  # noqa: F401  (module-scoped fixtures: a PKI and a JWKS)

HEADER = "X-Client-Cert"


def escaped(*certificates: Issued) -> str:
    """What nginx's $ssl_client_escaped_cert holds: the PEM, URL-encoded."""
    return quote(b"".join(c.certificate.public_bytes(serialization.Encoding.PEM) for c in certificates).decode())


def proxy_settings(pki: Pki, jwks: Jwks, root, trusted: str = "127.0.0.1/32") -> dict:
    jwks.write(root / "jwks.json")
    return {
        "tls_proxy": {"client_ca": str(pki.ca.certificate_path), "trusted_proxies": [trusted], "header": HEADER},
        "oidc": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": "jwks.json"},
    }


@pytest.fixture
def authenticator(pki, jwks, tmp_path) -> Authenticator:
    return Authenticator(parse_config({"gateway": proxy_settings(pki, jwks, tmp_path)}, "prod", tmp_path))


def refused(authenticator: Authenticator, header: Optional[str], peer: str = "127.0.0.1") -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        authenticator.authenticate(None, None, proxied_certificate=header, peer=peer)
    return caught.value


def test_a_proxied_certificate_of_ours_maps_cn_and_ou(authenticator, pki):
    who = authenticator.authenticate(None, None, proxied_certificate=escaped(pki.client), peer="127.0.0.1")
    assert (who.subject, who.groups, who.method) == ("alice", ("researchers", "qpu-users"), "mtls")


@pytest.mark.parametrize("who, code, reason", [
    ("stranger", auth.UNTRUSTED_CERTIFICATE, "untrusted client certificate 'CN=mallory"),
    ("expired_client", auth.EXPIRED, "expired client certificate: valid until"),
    ("server", auth.UNTRUSTED_CERTIFICATE, "untrusted client certificate 'CN=gateway.test"),  # not for clients (EKU)
])
def test_a_proxied_certificate_we_do_not_trust_is_refused_with_its_reason(authenticator, pki, who, code, reason):
    error = refused(authenticator, escaped(getattr(pki, who)))
    assert error.code == code and error.reason.startswith(reason), error.reason


def test_the_header_counts_only_from_a_trusted_proxy(authenticator, pki):
    for peer in ("127.0.0.2", "10.0.0.1", "::1", None, "testclient"):
        error = refused(authenticator, escaped(pki.client), peer=peer)
        assert error.code == auth.UNTRUSTED_PROXY and "is not a trusted proxy" in error.reason


@pytest.mark.parametrize("header", ["", "not a certificate", "%ZZ", quote("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "%FF%FE"])
def test_a_header_that_is_not_a_url_encoded_pem_certificate_is_refused(authenticator, header):
    error = refused(authenticator, header)
    assert error.code == auth.BAD_CERTIFICATE and error.reason.endswith(f"{HEADER} is not a URL-encoded PEM certificate")


def test_a_chain_longer_than_the_limit_is_refused(authenticator, pki):
    error = refused(authenticator, escaped(*[pki.client] * (auth.MAX_PROXIED_CHAIN + 1)))
    assert error.code == auth.BAD_CERTIFICATE and "a chain of 5 certificates" in error.reason


def test_without_tls_proxy_the_header_is_not_read(tmp_path, pki):
    gateway = Gateway(tmp_path)
    response = gateway.client.post("/v1/tasks", json={"device": SV1, "shots": 10, "program": BELL},
                                   headers={HEADER: escaped(pki.client)})
    assert response.status_code == 401 and response.json()["reason"].startswith("no credentials")


@pytest.mark.parametrize("settings, problem", [
    ({"trusted_proxies": []}, "gateway.tls_proxy.trusted_proxies=[] is not allowed"),
    ({"trusted_proxies": ["10.0.0.5/8"]}, "gateway.tls_proxy.trusted_proxies='10.0.0.5/8' is not allowed"),
    ({"trusted_proxies": ["10.0.0.5/32"], "header": "X Client"}, "gateway.tls_proxy.header='X Client' is not allowed"),
    ({"trusted_proxies": ["10.0.0.5/32"], "client_ca": "missing.pem"}, "gateway.tls_proxy.client_ca='missing.pem' is not allowed"),
    ({"trusted_proxies": ["10.0.0.5/32"], "verify": False}, "gateway.tls_proxy.verify=False is not allowed"),
])
def test_bad_tls_proxy_settings_are_one_line(tmp_path, pki, settings, problem):
    table = {"client_ca": str(pki.ca.certificate_path)} | settings
    with pytest.raises(ConfigError, match="^" + problem.replace("[", r"\[").replace("]", r"\]")):
        parse_config({"gateway": {"tls_proxy": table}}, "prod", tmp_path)


def test_a_client_ca_file_without_certificates_is_a_configuration_error(tmp_path, pki):
    (tmp_path / "empty.pem").write_text("nothing here\n")
    config = parse_config({"gateway": {"tls_proxy": {"client_ca": "empty.pem", "trusted_proxies": ["10.0.0.5/32"]}}},
                          "prod", tmp_path)
    with pytest.raises(ConfigError, match="^gateway.tls_proxy.client_ca=.* is not allowed: expected a PEM file of CA certificates"):
        Authenticator(config)


def test_outside_dev_a_tls_proxy_counts_as_mutual_tls(tmp_path, pki):
    table = {"client_ca": str(pki.ca.certificate_path), "trusted_proxies": ["10.0.0.5/32"]}
    assert parse_config({"gateway": {"tls_proxy": table}}, "prod", tmp_path).tls_proxy.trusted_proxies == ("10.0.0.5/32",)
    with pytest.raises(ConfigError, match="a \\[gateway.tls\\] or \\[gateway.tls_proxy\\] table in 'prod'"):
        parse_config({"gateway": {"oidc": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": "https://x/jwks"}}}, "prod", tmp_path)


# -- the matrix, end to end: the real app under uvicorn on 127.0.0.1, as the proxy's upstream

@pytest.fixture(scope="module")
def upstream(pki, jwks, tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("proxied-gateway")
    gateway = Gateway(root, extra_settings=proxy_settings(pki, jwks, root))
    with serving(gateway.app, proxy_headers=False) as port:  # as gateway.server serves it
        yield f"http://127.0.0.1:{port}"
    gateway.store.close()


def submit(url: str, *, certificate: Optional[str] = None, token: Optional[str] = None,
           source: str = "127.0.0.1", forwarded_for: Optional[str] = None) -> httpx.Response:
    headers = {}
    if certificate is not None:
        headers[HEADER] = certificate
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=30) as client:
        return client.post(f"{url}/v1/tasks", headers=headers, json={"device": SV1, "shots": 10, "program": BELL})


def test_e2e_matrix(upstream, pki, jwks):
    cases = {
        "no credentials": ({}, 401, "no credentials"),
        "bad signature": ({"token": jwks.mint_forged()}, 401, "bad signature"),
        "expired token": ({"token": jwks.mint(now=time.time() - 3600)}, 401, "expired"),
        "wrong audience": ({"token": jwks.mint(aud="another-service")}, 401, "wrong audience"),
        "certificate from another CA": ({"certificate": escaped(pki.stranger)}, 401, "untrusted client certificate"),
        "expired certificate": ({"certificate": escaped(pki.expired_client)}, 401, "expired client certificate"),
        "valid certificate": ({"certificate": escaped(pki.client)}, 202, None),
        "valid OIDC token": ({"token": jwks.mint(sub="carol", groups=["researchers"])}, 202, None),
    }
    for case, (credentials, status, reason) in cases.items():
        response = submit(upstream, **credentials)
        assert response.status_code == status, (case, response.text)
        body = response.json()
        if reason is None:
            assert body["state"] == "ACCEPTED" and body["id"], case
        else:
            assert body["error"] == "unauthenticated" and body["reason"].startswith(reason), (case, body)


def test_e2e_the_header_from_a_peer_that_is_not_the_proxy_is_401_even_with_x_forwarded_for(upstream, pki):
    """From 127.0.0.2 (another loopback address, so another peer) a valid certificate header is
    refused, and claiming to be the proxy through X-Forwarded-For changes nothing."""
    response = submit(upstream, certificate=escaped(pki.client), source="127.0.0.2", forwarded_for="127.0.0.1")
    assert response.status_code == 401
    assert response.json()["reason"] == "client certificate header refused: '127.0.0.2' is not a trusted proxy ([gateway.tls_proxy] trusted_proxies)"
