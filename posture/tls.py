"""TLS for serving the app on the clinic network (`posture app --lan`).

Browsers give the camera and the motion sensors only to secure pages (HTTPS, or localhost), so
a tablet taking photos needs HTTPS. Either the clinic provides a certificate and key (from its
IT or its own certificate authority), or `posture` makes a self-signed one on first use and
keeps it; each tablet then accepts it once, after checking its SHA-256 fingerprint (printed at
start, and shown by the browser's certificate viewer) against the one this computer prints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from posture.errors import InputError

# A self-signed certificate a clinic re-accepts on each tablet when it expires: two years is
# a compromise between that chore and how long a stolen key would stay useful.
SELF_SIGNED_DAYS = 730
CERT_NAME, KEY_NAME = "posture-lan.crt", "posture-lan.key"


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path
    fingerprint: str      # SHA-256 of the certificate (DER), "AB:CD:..." as browsers show it
    names: tuple[str, ...]  # the host names and addresses it is valid for
    generated: bool       # made here (self-signed), not provided by the clinic


def _fingerprint(cert) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    digest = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _names(cert) -> tuple[str, ...]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(n.value) for n in san)


def _interface_addresses() -> list[str]:
    """IPv4 addresses of this computer's network interfaces (Linux: SIOCGIFADDR per
    interface), without sending anything; empty where that call does not exist."""
    try:
        import fcntl
        import struct
    except ImportError:  # not Linux/Unix
        return []
    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _index, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915,  # SIOCGIFADDR
                                     struct.pack("256s", name[:15].encode()))
            except OSError:
                continue  # no IPv4 address on this interface
            out.append(socket.inet_ntoa(packed[20:24]))
    return out


def local_names() -> tuple[str, ...]:
    """This computer's host name and its IPv4 addresses other than loopback (as the tablets
    on the network reach it), found without sending anything."""
    host = socket.gethostname()
    try:
        addresses = socket.gethostbyname_ex(host)[2]
    except OSError:
        addresses = []
    addresses += _interface_addresses()
    names = [host] + [a for a in addresses if not ipaddress.ip_address(a).is_loopback]
    return tuple(dict.fromkeys(names + ["localhost", "127.0.0.1"]))


def clinic_certificate(cert_file: str | os.PathLike, key_file: str | os.PathLike) -> Certificate:
    """A certificate and key the clinic provides (PEM). Raises InputError, one line, when
    either cannot be read, the key does not belong to the certificate, or it has expired."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path = Path(cert_file), Path(key_file)
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the certificate {cert_path.name}: "
                         f"{getattr(exc, 'strerror', None) or 'not a PEM certificate'}") from None
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot read the key {key_path.name}: "
                         f"{getattr(exc, 'strerror', None) or 'not an unencrypted PEM key'}"
                         ) from None
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.PEM
    if key.public_key().public_bytes(enc, pub) != cert.public_key().public_bytes(enc, pub):
        raise InputError(f"the key {key_path.name} does not belong to the certificate "
                         f"{cert_path.name}")
    if cert.not_valid_after_utc < dt.datetime.now(dt.timezone.utc):
        raise InputError(f"the certificate {cert_path.name} expired on "
                         f"{cert.not_valid_after_utc:%Y-%m-%d}: ask for a new one")
    return Certificate(cert_path, key_path, _fingerprint(cert), _names(cert), generated=False)


def self_signed_certificate(folder: str | os.PathLike,
                            names: tuple[str, ...] | None = None) -> Certificate:
    """The self-signed certificate kept in `folder`, made on first use (and again when it
    has expired or no longer names this computer). The key file is readable by its owner only.
    """
    folder = Path(folder)
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    names = names or local_names()
    if cert_path.exists() and key_path.exists():
        try:
            existing = clinic_certificate(cert_path, key_path)
        except InputError:
            existing = None
        if existing is not None and set(names) <= set(existing.names):
            return Certificate(cert_path, key_path, existing.fingerprint, existing.names,
                               generated=True)
    return _generate(cert_path, key_path, names)


def _generate(cert_path: Path, key_path: Path, names: tuple[str, ...]) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"posture on {names[0]}")])
    alt = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=SELF_SIGNED_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_bytes)
    os.chmod(key_path, 0o600)  # an existing file keeps its mode on O_CREAT
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Certificate(cert_path, key_path, _fingerprint(cert), tuple(names), generated=True)
