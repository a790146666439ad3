"""Verify a Vouch access token in another service, with PyJWT, knowing only the JWKS URL."""

from typing import Any

import jwt

VOUCH_JWKS_URL = "https://vouch.example.com/.well-known/jwks.json"
VOUCH_ISSUER = "https://vouch.example.com"  # JWT_ISSUER (by default Vouch's SITE_URL)
VOUCH_AUDIENCE = "vouch"  # JWT_AUDIENCE

# One client per process: it caches the key set and fetches it again for an unknown `kid`.
jwks_client = jwt.PyJWKClient(VOUCH_JWKS_URL, cache_keys=True, lifespan=300)


def verify_access_token(
    token: str, jwks: jwt.PyJWKClient = jwks_client, issuer: str = VOUCH_ISSUER
) -> dict[str, Any]:
    """The token's claims; raises jwt.PyJWTError when it is not a valid Vouch access token."""
    signing_key = jwks.get_signing_key_from_jwt(token)  # chosen by the token's `kid`
    claims = jwt.decode(
        token,
        signing_key,
        algorithms=["ES256", "RS256"],  # never what the token's header says alone
        issuer=issuer,
        audience=VOUCH_AUDIENCE,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    if claims.get("token_type") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return claims  # claims["sub"]: the user id; claims["phone_number"]: E.164
