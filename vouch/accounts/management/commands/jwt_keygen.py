"""
`manage.py jwt_keygen --out PATH`: a new private key for API tokens (JWT_PRIVATE_KEY_FILE).

The file is written with mode 0600 and never over an existing one; the public JWK, with its
`kid`, is printed (it is what /.well-known/jwks.json will serve).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.management.base import BaseCommand, CommandError, CommandParser

from vouch.accounts.keys import ASYMMETRIC, RSA_KEYGEN_BITS, PrivateKey, public_jwk, thumbprint


class Command(BaseCommand):
    help = "Generate a private key for API tokens (ES256 or RS256) into a new file."
    requires_system_checks: list[str] = []  # the key the checks would look for may be this one

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--algorithm", choices=ASYMMETRIC, default="ES256")
        parser.add_argument("--out", required=True, help="the new key file (mode 0600)")
        parser.add_argument(
            "--bits", type=int, default=RSA_KEYGEN_BITS, help="RS256 only; at least 3072"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        algorithm, path = options["algorithm"], Path(options["out"])
        key: PrivateKey
        if algorithm == "RS256":
            if options["bits"] < RSA_KEYGEN_BITS:
                raise CommandError(f"--bits must be at least {RSA_KEYGEN_BITS}.")
            key = rsa.generate_private_key(public_exponent=65537, key_size=options["bits"])
        else:
            key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"{path} exists; it is never overwritten.") from None
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        jwk = public_jwk(key.public_key())
        public = {**jwk, "kid": thumbprint(jwk), "alg": algorithm, "use": "sig"}
        self.stderr.write(f"Wrote {path} (mode 0600). Its public key:")
        self.stdout.write(json.dumps(public))
