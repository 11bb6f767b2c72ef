"""The gateway's authentication (gateway/auth.py, gateway/tls.py).

Unit tests of ``Authenticator`` for each refusal reason; the JWKS URL against a loopback HTTPS
server (and an unreachable, a silent and an untrusted one); and an end-to-end matrix against a real
uvicorn server on 127.0.0.1 with mutual TLS, where a certificate from another CA or an expired one
is refused by the TLS handshake itself (the request never reaches the app). Keys and certificates
are made at test time (tests/gateway_pki.py). Every server binds 127.0.0.1 and is bounded in time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import json
import logging
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from jwt.warnings import InsecureKeyLengthWarning

from gateway import auth
from gateway.auth import Authenticator, Unauthenticated
from gateway.config import ConfigError, GatewayConfig, OidcConfig, parse_config
from gateway.model import Principal
from gateway.tls import ClientCertificateProtocol, client_cert_der, uvicorn_ssl_settings
from tests.gateway_pki import AUDIENCE, ISSUER, Jwks, Pki, make_pki

API_TOKEN = "dev-token-for-alice"
SERVER_START_SECONDS = 5.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def jwks() -> Jwks:
    return Jwks()


@pytest.fixture(scope="module")
def config(pki, jwks, tmp_path_factory) -> GatewayConfig:
    """A production configuration as an operator writes it: mutual TLS and OIDC from a JWKS file."""
    base = tmp_path_factory.mktemp("config")
    jwks.write(base / "jwks.json")
    tls = pki.tls_config()
    return parse_config({"gateway": {
        "tls": {"certificate": str(tls.certificate), "key": str(tls.key), "client_ca": str(tls.client_ca)},
        "oidc": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": "jwks.json"},
    }}, "prod", base)


@pytest.fixture(scope="module")
def authenticator(config) -> Authenticator:
    return Authenticator(config)


def refusal(authenticator: Authenticator, authorization: Optional[str], cert: Optional[bytes] = None) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        authenticator.authenticate(authorization, cert)
    return caught.value


def bearer(token: str) -> str:
    return f"Bearer {token}"


# -- OIDC bearer tokens

def test_a_valid_rsa_token_maps_to_its_subject_and_groups(authenticator, jwks):
    principal = authenticator.authenticate(bearer(jwks.mint(groups=["researchers", "qpu-users"])), None)
    assert principal == Principal(subject="alice", groups=("researchers", "qpu-users"), method="oidc")


def test_a_valid_ec_token_is_accepted_and_the_scheme_is_case_insensitive(authenticator, jwks):
    principal = authenticator.authenticate("bearer " + jwks.mint("ec-1", sub="bob"), None)
    assert (principal.subject, principal.method) == ("bob", "oidc")


def test_no_credentials_get_a_bare_bearer_challenge(authenticator):
    refused = refusal(authenticator, None)
    assert refused.code == auth.NO_CREDENTIALS
    assert "client certificate" in refused.reason and "Bearer" in refused.reason
    assert refused.www_authenticate == 'Bearer realm="quantum-gateway"'  # RFC 6750 §3.1: no error code


@pytest.mark.parametrize("header", ["", "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer a b", "Bearer tok\u00e9n", "Token abc"])
def test_a_malformed_authorization_header_is_an_invalid_request(authenticator, header):
    refused = refusal(authenticator, header)
    assert refused.code == auth.MALFORMED_HEADER
    assert "expected 'Bearer <token>'" in refused.reason
    assert 'error="invalid_request"' in refused.www_authenticate


def test_a_token_longer_than_the_limit_is_refused_before_any_parsing(authenticator):
    refused = refusal(authenticator, bearer("a" * auth.MAX_TOKEN_CHARS))
    assert refused.code == auth.MALFORMED_HEADER and "longer than" in refused.reason


def test_three_parts_that_are_not_a_jwt_are_a_malformed_token(authenticator):
    refused = refusal(authenticator, bearer("not.a.jwt"))
    assert refused.code == auth.MALFORMED_TOKEN


def test_a_token_signed_by_another_key_under_a_known_kid_has_a_bad_signature(authenticator, jwks):
    refused = refusal(authenticator, bearer(jwks.mint_forged()))
    assert refused.code == auth.BAD_SIGNATURE and "'rsa-1'" in refused.reason
    assert 'error="invalid_token"' in refused.www_authenticate


def test_an_expired_token_is_refused_beyond_the_leeway_and_accepted_within_it(authenticator, jwks, config):
    leeway = config.oidc.leeway_seconds
    now = time.time()
    refused = refusal(authenticator, bearer(jwks.mint(now=now - 600, lifetime=600 - leeway - 60)))
    assert refused.code == auth.EXPIRED and f"leeway {leeway} s" in refused.reason
    assert authenticator.authenticate(bearer(jwks.mint(now=now - 600, lifetime=600 - leeway // 2)), None).subject == "alice"


def test_a_token_not_yet_valid_by_nbf_or_iat_is_refused(authenticator, jwks):
    later = time.time() + 600
    assert refusal(authenticator, bearer(jwks.mint(nbf=int(later)))).code == auth.NOT_YET_VALID
    assert refusal(authenticator, bearer(jwks.mint(now=later))).code == auth.NOT_YET_VALID


def test_a_token_from_another_issuer_is_refused(authenticator, jwks):
    refused = refusal(authenticator, bearer(jwks.mint(iss="https://evil.example")))
    assert refused.code == auth.WRONG_ISSUER and ISSUER in refused.reason


def test_a_token_for_another_audience_is_refused(authenticator, jwks):
    refused = refusal(authenticator, bearer(jwks.mint(aud="some-other-api")))
    assert refused.code == auth.WRONG_AUDIENCE and AUDIENCE in refused.reason
    assert authenticator.authenticate(bearer(jwks.mint(aud=["some-other-api", AUDIENCE])), None).subject == "alice"


def test_an_unsigned_token_is_refused(authenticator, jwks):
    refused = refusal(authenticator, bearer(jwks.mint_unsigned()))
    assert refused.code == auth.ALGORITHM_NOT_ALLOWED and "'none'" in refused.reason


def test_hs256_keyed_with_the_public_key_is_refused(authenticator, jwks):
    """The algorithm confusion attack: a verifier that believed the token's alg would check an HMAC
    keyed with the (public) RSA key, and anyone could mint tokens."""
    refused = refusal(authenticator, bearer(jwks.mint_hmac_with_public_key()))
    assert refused.code == auth.ALGORITHM_NOT_ALLOWED and "'HS256'" in refused.reason


def test_an_allowed_algorithm_that_is_not_the_keys_own_is_refused(authenticator, jwks):
    """ES256 is allowed, but kid rsa-1 is an RSA key: the algorithm must match the key too."""
    token = jwks.mint("rsa-1", alg="ES256", signing_key=jwks.keys["ec-1"][1])
    refused = refusal(authenticator, bearer(token))
    assert refused.code == auth.ALGORITHM_NOT_ALLOWED and "does not match the key 'rsa-1'" in refused.reason


def test_an_algorithm_outside_the_allow_list_is_refused_even_when_correctly_signed(authenticator, jwks):
    refused = refusal(authenticator, bearer(jwks.mint("rsa-1", alg="RS512")))
    assert refused.code == auth.ALGORITHM_NOT_ALLOWED and "allowed: RS256, ES256" in refused.reason


def test_an_unknown_or_absent_key_id_is_refused(authenticator, jwks):
    refused = refusal(authenticator, bearer(jwks.mint("rsa-1", header={"kid": "rsa-9"})))
    assert refused.code == auth.UNKNOWN_KEY and "'rsa-9'" in refused.reason
    assert refusal(authenticator, bearer(jwks.mint(None))).code == auth.UNKNOWN_KEY


@pytest.mark.parametrize("claims", [{"omit": ("sub",)}, {"sub": ""}, {"sub": "  "}, {"sub": 42}])
def test_a_token_without_a_usable_subject_is_refused(authenticator, jwks, claims):
    assert refusal(authenticator, bearer(jwks.mint(**claims))).code == auth.MISSING_SUBJECT


def test_a_token_without_a_required_claim_is_refused(authenticator, jwks):
    refused = refusal(authenticator, bearer(jwks.mint(omit=("exp",))))
    assert refused.code == auth.MISSING_CLAIM and "'exp'" in refused.reason


@pytest.mark.parametrize("groups", ["researchers", {"researchers": True}, ["researchers", 7], None])
def test_groups_that_are_not_a_list_of_strings_count_as_none(authenticator, jwks, groups):
    assert authenticator.authenticate(bearer(jwks.mint(groups=groups)), None).groups == ()


def test_the_groups_claim_is_configurable(config, jwks):
    custom = Authenticator(dataclasses.replace(config, oidc=dataclasses.replace(config.oidc, groups_claim="roles")))
    assert custom.authenticate(bearer(jwks.mint(roles=["qpu-users"])), None).groups == ("qpu-users",)


def test_a_key_shorter_than_2048_bits_is_refused(config, tmp_path):
    issuer = Jwks()
    issuer.keys["weak-1"] = ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=1024))
    path = issuer.write(tmp_path / "jwks.json")
    weak = Authenticator(dataclasses.replace(config, oidc=dataclasses.replace(config.oidc, jwks_file=path)))
    with pytest.warns(InsecureKeyLengthWarning):  # PyJWT signs with it, and says so
        token = issuer.mint("weak-1")
    refused = refusal(weak, bearer(token))
    assert refused.code == auth.INVALID_TOKEN and "1024 bits" in refused.reason  # NIST SP 800-131A


def test_a_reason_with_quotes_still_makes_a_well_formed_challenge(authenticator, jwks):
    refused = refusal(authenticator, bearer(jwks.mint("rsa-1", header={"kid": 'x", error="none'})))
    description = refused.www_authenticate.split('error_description="', 1)[1]
    assert description.endswith('"') and '"' not in description[:-1] and "\\" not in description


def test_a_shared_secret_algorithm_in_the_configuration_is_refused(config):
    for algorithms in (("HS256",), ("none",), ()):
        with pytest.raises(ConfigError, match="gateway.oidc.algorithms"):
            Authenticator(dataclasses.replace(config, oidc=dataclasses.replace(config.oidc, algorithms=algorithms)))


def test_a_jwks_file_that_is_not_a_key_set_is_a_configuration_error(config, tmp_path):
    for text in ("{", "[]", '{"keys": []}', '{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "use": "enc"}]}'):
        (tmp_path / "jwks.json").write_text(text)
        with pytest.raises(ConfigError, match="gateway.oidc.jwks_file=.*JSON Web Key Set"):
            Authenticator(dataclasses.replace(config, oidc=dataclasses.replace(config.oidc, jwks_file=tmp_path / "jwks.json")))


def test_a_rotated_jwks_file_is_read_again_and_a_broken_one_keeps_the_last_good_keys(config, tmp_path):
    issuer = Jwks()
    path = issuer.write(tmp_path / "jwks.json", kids=("rsa-1",))
    authenticator = Authenticator(dataclasses.replace(config, oidc=dataclasses.replace(config.oidc, jwks_file=path)))
    assert authenticator.authenticate(bearer(issuer.mint("rsa-1")), None).subject == "alice"
    issuer.add_key("rsa-2")
    assert refusal(authenticator, bearer(issuer.mint("rsa-2"))).code == auth.UNKNOWN_KEY
    issuer.write(path, kids=("rsa-1", "rsa-2"))
    assert authenticator.authenticate(bearer(issuer.mint("rsa-2")), None).subject == "alice"
    path.write_text("{ half a file")
    assert authenticator.authenticate(bearer(issuer.mint("rsa-2")), None).subject == "alice"


# -- static API tokens (dev only)

def dev_config(tmp_path: Path, **gateway) -> GatewayConfig:
    return parse_config({"gateway": {"api_tokens": [{
        "subject": "alice", "groups": ["researchers"], "sha256": hashlib.sha256(API_TOKEN.encode()).hexdigest(),
    }], **gateway}}, "dev", tmp_path)


def test_a_dev_api_token_maps_to_its_subject_and_an_unknown_one_is_refused(tmp_path):
    authenticator = Authenticator(dev_config(tmp_path))
    assert authenticator.authenticate(bearer(API_TOKEN), None) == Principal("alice", ("researchers",), "token")
    refused = refusal(authenticator, bearer(API_TOKEN + "x"))
    assert refused.code == auth.UNKNOWN_API_TOKEN
    assert API_TOKEN not in refused.reason and API_TOKEN not in refused.www_authenticate


def test_api_tokens_outside_dev_are_refused_even_if_a_configuration_carries_them(tmp_path, config):
    smuggled = dataclasses.replace(config, api_tokens=dev_config(tmp_path).api_tokens)
    refused = refusal(Authenticator(smuggled), bearer(API_TOKEN))
    assert refused.code == auth.TOKEN_OUTSIDE_DEV and "'prod'" in refused.reason


def test_a_jwt_where_oidc_is_not_configured_is_refused_with_a_certificate_challenge(pki, jwks):
    mtls_only = Authenticator(GatewayConfig(environment="prod", tls=pki.tls_config()))
    refused = refusal(mtls_only, bearer(jwks.mint()))
    assert refused.code == auth.OIDC_NOT_CONFIGURED
    assert refused.www_authenticate == 'ClientCertificate realm="quantum-gateway"'
    assert refusal(mtls_only, None).www_authenticate == 'ClientCertificate realm="quantum-gateway"'


# -- client certificates (as the TLS layer hands them over)

def test_a_client_certificate_maps_cn_to_subject_and_ou_to_groups(authenticator, pki):
    principal = authenticator.authenticate(None, pki.client.der)
    assert principal == Principal(subject="alice", groups=("researchers", "qpu-users"), method="mtls")


def test_a_client_certificate_wins_over_a_bearer_token(authenticator, pki, jwks):
    assert authenticator.authenticate(bearer(jwks.mint(sub="bob")), pki.client.der).subject == "alice"
    assert authenticator.authenticate("Basic garbage", pki.client.der).method == "mtls"


def test_a_client_certificate_without_one_cn_or_unreadable_or_unverified_is_refused(authenticator, pki, tmp_path):
    no_cn = pki.ca.issue(None, units=("researchers",), stem="no-cn")
    assert refusal(authenticator, None, no_cn.der).code == auth.MISSING_SUBJECT
    assert refusal(authenticator, None, b"\x30\x03\x02\x01\x00").code == auth.BAD_CERTIFICATE
    unverified = Authenticator(dev_config(tmp_path))  # no [gateway.tls]: nothing could have verified it
    assert refusal(unverified, None, pki.client.der).code == auth.BAD_CERTIFICATE


# -- the JWKS URL

class JwksServer:
    """A loopback HTTPS server answering GET with ``body``; counts the requests it serves."""

    def __init__(self, pki: Pki, body: bytes):
        self.requests = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pki.server.certificate_path), str(pki.server.key_path))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "JwksServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def url_authenticator(config: GatewayConfig, url: str, pki: Optional[Pki], timeout: float = 2.0) -> Authenticator:
    oidc = OidcConfig(issuer=ISSUER, audience=AUDIENCE, jwks_url=url)
    return Authenticator(dataclasses.replace(config, oidc=oidc), jwks_timeout_seconds=timeout,
                         jwks_ssl_context=pki.client_context() if pki else None)


def test_keys_from_a_jwks_url_are_fetched_once_and_cached(config, pki, jwks):
    with JwksServer(pki, json.dumps(jwks.document()).encode()) as server:
        authenticator = url_authenticator(config, server.url, pki)
        assert server.requests == 0  # nothing fetched before the first token
        assert authenticator.authenticate(bearer(jwks.mint()), None).subject == "alice"
        assert authenticator.authenticate(bearer(jwks.mint("ec-1")), None).subject == "alice"
        assert refusal(authenticator, bearer(jwks.mint_forged())).code == auth.BAD_SIGNATURE
        # An unknown kid right after a fetch does not fetch again (PyJWKClient's cooldown).
        assert refusal(authenticator, bearer(jwks.mint("rsa-1", header={"kid": "made-up"}))).code == auth.UNKNOWN_KEY
        assert server.requests == 1


def test_a_jwks_url_answering_nonsense_is_a_401_with_a_reason(config, pki, jwks):
    for body in (b"<html>login</html>", b"[1, 2]", b'{"keys": []}'):
        with JwksServer(pki, body) as server:
            refused = refusal(url_authenticator(config, server.url, pki), bearer(jwks.mint()))
            assert refused.code == auth.KEYS_UNAVAILABLE and server.url in refused.reason


def test_an_unreachable_jwks_url_is_a_401_with_a_reason(config, jwks):
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        url = f"https://127.0.0.1:{reserved.getsockname()[1]}/jwks"  # bound, not listening: refused
        refused = refusal(url_authenticator(config, url, None), bearer(jwks.mint()))
    assert refused.code == auth.KEYS_UNAVAILABLE and "cannot read the JWKS" in refused.reason


def test_a_silent_jwks_url_is_given_up_on_after_the_timeout(config, pki, jwks):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes TCP handshakes; no one ever answers
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/jwks"
        started = time.monotonic()
        refused = refusal(url_authenticator(config, url, pki, timeout=0.5), bearer(jwks.mint()))
        elapsed = time.monotonic() - started
    assert refused.code == auth.KEYS_UNAVAILABLE and "timed out" in refused.reason
    assert 0.4 < elapsed < 3


def test_a_jwks_server_not_trusted_by_the_system_is_refused(config, pki, jwks):
    with JwksServer(pki, json.dumps(jwks.document()).encode()) as server:
        refused = refusal(url_authenticator(config, server.url, None), bearer(jwks.mint()))
    assert refused.code == auth.KEYS_UNAVAILABLE and "CERTIFICATE_VERIFY_FAILED" in refused.reason


# -- the uvicorn settings and protocol

def test_the_uvicorn_settings_make_an_optional_client_certificate_tls12_context(pki):
    config = uvicorn.Config(FastAPI(), http=ClientCertificateProtocol, **uvicorn_ssl_settings(pki.tls_config()))
    config.load()
    assert config.ssl.verify_mode == ssl.CERT_OPTIONAL
    assert config.ssl.minimum_version == ssl.TLSVersion.TLSv1_2
    assert config.ssl.verify_flags & ssl.VERIFY_X509_STRICT
    assert [c["subject"] for c in config.ssl.get_ca_certs()] == [((("organizationName", "Gateway tests"),),
                                                                  (("commonName", "gateway-clients-ca"),))]


def test_client_cert_der_reads_the_asgi_tls_extension(pki):
    pem = ssl.DER_cert_to_PEM_cert(pki.client.der)
    assert client_cert_der({"extensions": {"tls": {"client_cert_chain": (pem,)}}}) == pki.client.der
    assert client_cert_der({"extensions": {"tls": {"client_cert_chain": ()}}}) is None
    assert client_cert_der({"type": "http"}) is None


# -- end to end: a real uvicorn server with mutual TLS

def gateway_app(authenticator: Authenticator, hits: list) -> FastAPI:
    """The smallest app that authenticates like the gateway: 202 for an authenticated POST."""
    app = FastAPI()

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, error: Unauthenticated) -> JSONResponse:
        return JSONResponse({"error": "unauthenticated", "reason": error.reason}, status_code=401,
                            headers={"WWW-Authenticate": error.www_authenticate})

    def principal(request: Request) -> Principal:  # a plain def: FastAPI runs it in a worker thread
        hits.append(request.url.path)
        return authenticator.authenticate(request.headers.get("authorization"), client_cert_der(request.scope))

    @app.post("/v1/tasks", status_code=202)
    def submit(request: Request, who: Principal = Depends(principal)) -> dict:
        tls = request.scope.get("extensions", {}).get("tls")
        return {"subject": who.subject, "groups": list(who.groups), "method": who.method,
                "tls": tls and {key: tls[key] for key in ("client_cert_name", "tls_version", "cipher_suite")}
                | {"server_cert": bool(tls["server_cert"]), "chain": len(tls["client_cert_chain"])}}

    return app


@contextmanager
def serving(app: FastAPI, **settings) -> Iterator[int]:
    """``app`` under uvicorn with the gateway's protocol, on a free loopback port, in a thread."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, http=ClientCertificateProtocol, lifespan="off", log_config=None,
                                           log_level="critical", timeout_graceful_shutdown=2, **settings))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="gateway-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=SERVER_START_SECONDS)
        listener.close()


@pytest.fixture(scope="module")
def gateway(pki, authenticator) -> Iterator[tuple[str, list]]:
    hits: list = []
    with serving(gateway_app(authenticator, hits), **uvicorn_ssl_settings(pki.tls_config())) as port:
        yield f"https://127.0.0.1:{port}", hits


def post(url: str, context: ssl.SSLContext, token: Optional[str] = None) -> httpx.Response:
    headers = {"Authorization": bearer(token)} if token else {}
    with httpx.Client(verify=context, timeout=5) as client:
        return client.post(f"{url}/v1/tasks", headers=headers, json={})


def refused_handshake(url: str, context: ssl.SSLContext) -> ssl.SSLError:
    """What a client whose certificate the gateway refuses gets: the connection closed without a
    TLS alert (asyncio drops it, CPython gh-98078). In TLS 1.3 the client's side of the handshake
    ends before the server has checked its certificate, so the close shows at its first read."""
    host, port = url.removeprefix("https://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with pytest.raises(ssl.SSLError) as caught:
            with context.wrap_socket(raw, server_hostname=host, suppress_ragged_eofs=False) as tls:
                tls.recv(1)
    return caught.value


def test_e2e_no_credentials_is_401_with_a_challenge(gateway, pki):
    url, _ = gateway
    response = post(url, pki.client_context())
    assert response.status_code == 401
    assert response.json() == {"error": "unauthenticated", "reason": response.json()["reason"]}
    assert response.json()["reason"].startswith("no credentials")
    assert response.headers["www-authenticate"] == 'Bearer realm="quantum-gateway"'


@pytest.mark.parametrize("case, code", [("bad signature", auth.BAD_SIGNATURE), ("expired", auth.EXPIRED),
                                        ("wrong audience", auth.WRONG_AUDIENCE)])
def test_e2e_a_refused_token_is_401_with_its_reason(gateway, pki, jwks, case, code):
    url, _ = gateway
    token = {"bad signature": jwks.mint_forged(), "expired": jwks.mint(now=time.time() - 3600),
             "wrong audience": jwks.mint(aud="another-service")}[case]
    response = post(url, pki.client_context(), token)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated" and response.json()["reason"].startswith(case)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_e2e_a_valid_oidc_token_is_202(gateway, pki, jwks):
    url, _ = gateway
    response = post(url, pki.client_context(), jwks.mint(sub="carol", groups=["researchers"]))
    assert response.status_code == 202
    body = response.json()
    assert (body["subject"], body["groups"], body["method"]) == ("carol", ["researchers"], "oidc")
    assert body["tls"]["chain"] == 0 and body["tls"]["client_cert_name"] is None


def test_e2e_a_valid_client_certificate_is_202_with_its_cn_as_subject(gateway, pki, jwks):
    url, _ = gateway
    response = post(url, pki.client_context(pki.client), token=jwks.mint_forged())  # the certificate wins
    assert response.status_code == 202
    body = response.json()
    assert (body["subject"], body["groups"], body["method"]) == ("alice", ["researchers", "qpu-users"], "mtls")
    assert body["tls"]["client_cert_name"] == "CN=alice,OU=qpu-users,OU=researchers,O=Gateway tests"
    assert body["tls"]["tls_version"] == 0x0304 and body["tls"]["chain"] == 1 and body["tls"]["server_cert"]
    assert body["tls"]["cipher_suite"] in (0x1301, 0x1302, 0x1303)  # RFC 8446 §B.4


@pytest.mark.parametrize("who, reason", [("stranger", "unable to get local issuer certificate"),
                                         ("expired_client", "certificate has expired"),
                                         ("server", "unsuitable certificate purpose")])
def test_e2e_a_certificate_we_do_not_trust_never_reaches_http(gateway, pki, caplog, who, reason):
    """Another CA's certificate, an expired one of ours, and our server certificate used as a
    client's: the TLS handshake is refused, the reason is logged, and the app sees no request."""
    url, hits = gateway
    before = len(hits)
    with caplog.at_level(logging.WARNING, logger="gateway.tls"):
        assert isinstance(refused_handshake(url, pki.client_context(getattr(pki, who))), ssl.SSLEOFError)
        with pytest.raises(httpx.TransportError):
            post(url, pki.client_context(getattr(pki, who)))
    refusals = [r.getMessage() for r in caplog.records if r.name == "gateway.tls"]
    assert refusals == [f"TLS handshake refused: client certificate not accepted ({reason})"] * 2
    assert len(hits) == before


def test_e2e_in_tls12_the_handshake_itself_fails(gateway, pki, caplog):
    url, _ = gateway
    context = pki.client_context(pki.stranger)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    host, port = url.removeprefix("https://").split(":")
    with caplog.at_level(logging.WARNING, logger="gateway.tls"), socket.create_connection((host, int(port)), timeout=5) as raw:
        with pytest.raises(ssl.SSLError, match="UNEXPECTED_EOF"):
            context.wrap_socket(raw, server_hostname=host)  # do_handshake: the server closes mid-handshake
    assert "unable to get local issuer certificate" in caplog.text


def test_e2e_dev_over_plain_http_takes_api_tokens_and_has_no_tls_extension(tmp_path):
    hits: list = []
    with serving(gateway_app(Authenticator(dev_config(tmp_path)), hits)) as port:
        with httpx.Client(timeout=5) as client:
            accepted = client.post(f"http://127.0.0.1:{port}/v1/tasks", headers={"Authorization": bearer(API_TOKEN)})
            refused = client.post(f"http://127.0.0.1:{port}/v1/tasks", headers={"Authorization": bearer("nope")})
    assert accepted.status_code == 202 and accepted.json()["method"] == "token" and accepted.json()["tls"] is None
    assert refused.status_code == 401 and refused.json()["reason"] == "unknown API token"

