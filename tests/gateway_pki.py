"""Throwaway credentials for the gateway's authentication tests, made with ``cryptography`` when the
tests run (nothing is committed): a CA with a server certificate for 127.0.0.1 and client
certificates (one valid, one expired), another CA with a client certificate of its own, an RSA and
an EC signing key published as a JWK set, and a minter of tokens signed with them (or forged).

Certificates follow RFC 5280 closely enough for OpenSSL's strict mode (``VERIFY_X509_STRICT``, which
the gateway's TLS context sets): CA certificates with critical basicConstraints, keyCertSign and a
subject key identifier; leaf certificates with an authority key identifier and the extended key
usage of their role (serverAuth or clientAuth). EC P-256 keys for certificates: quick to make.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Optional

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.config import TlsConfig

ISSUER = "https://login.example.test/realms/quantum"
AUDIENCE = "quantum-gateway"


@dataclass(frozen=True)
class Issued:
    """A certificate with its key, and where both are written (PEM)."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    certificate_path: Path
    key_path: Path

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


class CertificateAuthority:
    """A self-signed root CA that issues server and client certificates into ``directory``."""

    def __init__(self, name: str, directory: Path):
        self.name = name
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gateway tests"),
                             x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(timezone.utc)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.certificate_path = directory / f"{name}.pem"
        self.certificate_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: Optional[str], *, units: tuple[str, ...] = (), server: bool = False,
              valid_from: Optional[datetime] = None, valid_until: Optional[datetime] = None,
              stem: Optional[str] = None) -> Issued:
        """A certificate for ``common_name`` (None: a subject without CN) with ``units`` as its OU
        values; a server certificate names 127.0.0.1 and localhost. Valid for a day from an hour
        ago unless told otherwise."""
        now = datetime.now(timezone.utc)
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gateway tests")]
        attributes += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit) for unit in units]
        if common_name is not None:
            attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes)).issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or now - timedelta(hours=1))
            .not_valid_after(valid_until or now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        stem = stem or f"{self.name}-{common_name or 'no-cn'}"
        certificate_path, key_path = self.directory / f"{stem}.pem", self.directory / f"{stem}.key"
        certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return Issued(certificate, key, certificate_path, key_path)


def _key_usage(**granted: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{name: granted.get(name, False) for name in names})


@dataclass(frozen=True)
class Pki:
    """The gateway's CA and its certificates, plus a stranger's CA."""

    ca: CertificateAuthority
    other_ca: CertificateAuthority
    server: Issued
    client: Issued
    """CN=alice, OU=researchers, OU=qpu-users."""
    expired_client: Issued
    stranger: Issued
    """A client certificate from ``other_ca``: well-formed, current, and not ours."""

    def tls_config(self) -> TlsConfig:
        return TlsConfig(certificate=self.server.certificate_path, key=self.server.key_path,
                         client_ca=self.ca.certificate_path)

    def client_context(self, identity: Optional[Issued] = None) -> ssl.SSLContext:
        """A client's TLS context: trusts the gateway's CA, presents ``identity`` if given."""
        context = ssl.create_default_context(cafile=str(self.ca.certificate_path))
        if identity is not None:
            context.load_cert_chain(str(identity.certificate_path), str(identity.key_path))
        return context


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca = CertificateAuthority("gateway-clients-ca", directory)
    other_ca = CertificateAuthority("other-ca", directory)
    now = datetime.now(timezone.utc)
    return Pki(
        ca=ca,
        other_ca=other_ca,
        server=ca.issue("gateway.test", server=True, stem="server"),
        client=ca.issue("alice", units=("researchers", "qpu-users"), stem="alice"),
        expired_client=ca.issue("bob", units=("researchers",), valid_from=now - timedelta(days=10),
                                valid_until=now - timedelta(days=1), stem="bob-expired"),
        stranger=other_ca.issue("mallory", units=("researchers",), stem="mallory"),
    )


class Jwks:
    """An issuer's signing keys (RSA ``rsa-1``, EC P-256 ``ec-1``), their public JWK set, and a
    minter of tokens: genuine, or signed with a rogue key under a genuine kid."""

    def __init__(self, issuer: str = ISSUER, audience: str = AUDIENCE):
        self.issuer, self.audience = issuer, audience
        self.keys: dict[str, tuple[str, Any]] = {
            "rsa-1": ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "ec-1": ("ES256", ec.generate_private_key(ec.SECP256R1())),
        }
        self.rogue_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def document(self, kids: Optional[tuple[str, ...]] = None) -> dict:
        """The public JWK set (RFC 7517 §5) of ``kids`` (default: all)."""
        keys = []
        for kid in kids or tuple(self.keys):
            alg, private = self.keys[kid]
            algorithm = jwt.algorithms.RSAAlgorithm if alg.startswith("RS") else jwt.algorithms.ECAlgorithm
            keys.append({**algorithm.to_jwk(private.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": alg})
        return {"keys": keys}

    def write(self, path: Path, kids: Optional[tuple[str, ...]] = None) -> Path:
        path.write_text(json.dumps(self.document(kids)), encoding="utf-8")
        return path

    def add_key(self, kid: str) -> None:
        """A new RSA key (a rotation)."""
        self.keys[kid] = ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def claims(self, *, lifetime: int = 300, now: Optional[float] = None, omit: tuple[str, ...] = (), **claims: Any) -> dict:
        now = time.time() if now is None else now
        payload = {"iss": self.issuer, "aud": self.audience, "sub": "alice", "groups": ["researchers"],
                   "iat": int(now), "exp": int(now) + lifetime, **claims}
        return {name: value for name, value in payload.items() if name not in omit}

    def mint(self, kid: str = "rsa-1", *, alg: Optional[str] = None, signing_key: Any = None,
             header: Optional[dict] = None, lifetime: int = 300, now: Optional[float] = None,
             omit: tuple[str, ...] = (), **claims: Any) -> str:
        """A signed token under ``kid`` (``kid=None``: no kid header); ``signing_key`` signs instead of
        the kid's own key (a forgery), ``alg`` overrides the key's algorithm."""
        own_alg, own_key = self.keys.get(kid, ("RS256", self.keys["rsa-1"][1]))
        headers = {**({"kid": kid} if kid is not None else {}), **(header or {})}
        return jwt.encode(self.claims(lifetime=lifetime, now=now, omit=omit, **claims), signing_key or own_key,
                          algorithm=alg or own_alg, headers=headers)

    def mint_forged(self, **claims: Any) -> str:
        """Signed with a rogue RSA key but naming the genuine ``rsa-1``: a bad signature."""
        return self.mint("rsa-1", signing_key=self.rogue_rsa, **claims)

    def mint_unsigned(self, kid: str = "rsa-1", **claims: Any) -> str:
        """``alg: none`` (RFC 7519 §6): no signature at all."""
        return _compact({"alg": "none", "typ": "JWT", "kid": kid}, self.claims(**claims), lambda _: b"")

    def mint_hmac_with_public_key(self, kid: str = "rsa-1", **claims: Any) -> str:
        """The classic algorithm confusion: HS256 keyed with the RSA public key's PEM (which a
        verifier trusting the token's ``alg`` would use as the HMAC secret)."""
        secret = self.keys[kid][1].public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        return _compact({"alg": "HS256", "typ": "JWT", "kid": kid}, self.claims(**claims),
                        lambda signing_input: hmac.new(secret, signing_input, hashlib.sha256).digest())


def _compact(header: dict, payload: dict, sign) -> str:
    """JWS compact serialization (RFC 7515 §7.1), by hand: PyJWT refuses to make these forgeries."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}".encode()
    return f"{signing_input.decode()}.{_b64(sign(signing_input))}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
