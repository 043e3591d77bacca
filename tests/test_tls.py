"""Certificates for `posture app --lan`: self-signed on first use, or the clinic's own."""

from __future__ import annotations

import ssl
import stat

import pytest

from posture.errors import InputError
from posture.tls import clinic_certificate, self_signed_certificate

NAMES = ("clinic-pc", "192.168.0.20", "localhost", "127.0.0.1")


def test_a_self_signed_certificate_is_made_once_and_kept(tmp_path):
    first = self_signed_certificate(tmp_path, NAMES)
    assert first.generated and first.names == NAMES
    assert len(first.fingerprint.split(":")) == 32
    assert stat.S_IMODE(first.key_file.stat().st_mode) == 0o600
    again = self_signed_certificate(tmp_path, NAMES)
    assert again.fingerprint == first.fingerprint  # tablets that accepted it keep working
    # Python's own TLS stack accepts the pair as a server certificate.
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(first.cert_file,
                                                                         first.key_file)


def test_a_new_address_makes_a_new_certificate(tmp_path):
    first = self_signed_certificate(tmp_path, NAMES)
    moved = self_signed_certificate(tmp_path, ("clinic-pc", "10.0.0.7"))
    assert moved.fingerprint != first.fingerprint and "10.0.0.7" in moved.names


def test_the_clinics_certificate_is_checked(tmp_path):
    mine = self_signed_certificate(tmp_path / "a", NAMES)
    other = self_signed_certificate(tmp_path / "b", NAMES)
    ok = clinic_certificate(mine.cert_file, mine.key_file)
    assert ok.fingerprint == mine.fingerprint and not ok.generated
    with pytest.raises(InputError, match="does not belong to the certificate"):
        clinic_certificate(mine.cert_file, other.key_file)
    with pytest.raises(InputError, match="cannot read the certificate"):
        clinic_certificate(tmp_path / "missing.crt", mine.key_file)
    (tmp_path / "junk.key").write_text("not a key")
    with pytest.raises(InputError, match="cannot read the key junk.key"):
        clinic_certificate(mine.cert_file, tmp_path / "junk.key")
