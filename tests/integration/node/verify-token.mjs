// Verify a Vouch access token in another service, with jose, knowing only the JWKS URL.
import { createRemoteJWKSet, jwtVerify } from "jose";

const VOUCH_JWKS_URL = process.env.VOUCH_JWKS_URL ?? "https://vouch.example.com/.well-known/jwks.json";
const VOUCH_ISSUER = process.env.VOUCH_ISSUER ?? "https://vouch.example.com"; // JWT_ISSUER
const VOUCH_AUDIENCE = "vouch"; // JWT_AUDIENCE

// One key set per process: jose caches it and fetches it again for an unknown `kid`.
const jwks = createRemoteJWKSet(new URL(VOUCH_JWKS_URL));

export async function verifyAccessToken(token) {
  const { payload } = await jwtVerify(token, jwks, {
    issuer: VOUCH_ISSUER,
    audience: VOUCH_AUDIENCE,
    algorithms: ["ES256", "RS256"],
    requiredClaims: ["exp", "iat", "sub"],
  });
  if (payload.token_type !== "access") throw new Error("not an access token");
  return payload; // payload.sub: the user id; payload.phone_number: E.164
}

// node verify-token.mjs <token>: prints the claims as JSON, or exits with status 1.
if (import.meta.url === `file://${process.argv[1]}`) {
  verifyAccessToken(process.argv[2]).then(
    (claims) => console.log(JSON.stringify(claims)),
    (error) => {
      console.error(`${error.code ?? error.name}: ${error.message}`);
      process.exit(1);
    },
  );
}
