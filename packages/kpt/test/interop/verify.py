#!/usr/bin/env python3
"""Independent verifier for kpt artifacts, using only python3-jwcrypto and the published JWKS.

Usage: verify.py INPUT.json   (or "-" for stdin)

INPUT.json:
  {
    "jwks": {...}, "issuer": "...", "audience": "...",
    "sessionToken": "...",
    "challenge": {"jws": "...", "member": "...", "nonce": "...", "audience": "..."},
    "attestation": {"jws": "...", "member": "..."},
    "receipt": "...",
    "certificate": {"payload": "...", "signatures": [...]},
    "negative": {"sessionToken": "...", "attestation": {...}, "receipt": "...", "certificate": {...}}
  }

Prints one JSON object: {"jwcrypto": version, "results": {name: {"ok": bool, ...}}}.
Exit status 0 when every positive artifact verifies and every negative one is refused.
"""

import base64
import hashlib
import json
import sys

import jwcrypto
from jwcrypto import jwk, jws, jwt

ALG = "EdDSA"
TYP = {
    "challenge": "kpfl-challenge+jwt",
    "session": "kpfl-session+jwt",
    "attestation": "kpfl-attestation+jwt",
    "receipt": "kpfl-receipt+jwt",
    "certificate": "kpfl-round-certificate+json",
}


def b64u_json(s):
    return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))


def keys_where(jwks, pred):
    return [k for k in jwks["keys"] if pred(k)]


def is_coordinator(k):
    return k.get("kpfl_role", "coordinator") == "coordinator" and "kpfl_member" not in k


def key_by_kid(candidates, kid):
    for k in candidates:
        if k.get("kid") == kid:
            return jwk.JWK(**k)
    raise ValueError("no acceptable key with kid %s" % kid)


def verify_compact(token, key, typ):
    obj = jws.JWS()
    obj.allowed_algs = [ALG]
    obj.deserialize(token)
    obj.verify(key, alg=ALG)
    header = obj.jose_header
    if header.get("typ") != typ:
        raise ValueError("typ is %r, expected %r" % (header.get("typ"), typ))
    return header, json.loads(obj.payload)


def check_session(doc, token):
    jwks = doc["jwks"]
    kid = b64u_json(token.split(".")[0]).get("kid")
    key = key_by_kid(keys_where(jwks, is_coordinator), kid)
    t = jwt.JWT(
        jwt=token,
        key=key,
        algs=[ALG],
        check_claims={
            "iss": doc["issuer"],
            "aud": doc["audience"],
            "exp": None,
            "nbf": None,
            "sub": None,
            "jti": None,
        },
    )
    header = json.loads(t.header)
    if header.get("typ") != TYP["session"]:
        raise ValueError("typ is %r" % header.get("typ"))
    return json.loads(t.claims)


def member_key(jwks, member, kid=None):
    cands = keys_where(
        jwks, lambda k: k.get("kpfl_member") == member and not is_coordinator(k)
    )
    if kid is None:
        if len(cands) != 1:
            raise ValueError("member %s has %d keys" % (member, len(cands)))
        return jwk.JWK(**cands[0])
    return key_by_kid(cands, kid)


def check_challenge(doc, c):
    _, claims = verify_compact(c["jws"], member_key(doc["jwks"], c["member"]), TYP["challenge"])
    if claims.get("nonce") != c["nonce"] or claims.get("sub") != c["member"] or claims.get("aud") != c["audience"]:
        raise ValueError("challenge claims do not match")
    return claims


def check_attestation(doc, a):
    _, claims = verify_compact(a["jws"], member_key(doc["jwks"], a["member"]), TYP["attestation"])
    if claims.get("iss") != a["member"]:
        raise ValueError("attestation iss %r is not %r" % (claims.get("iss"), a["member"]))
    return claims


def check_receipt(doc, token):
    kid = b64u_json(token.split(".")[0]).get("kid")
    key = key_by_kid(keys_where(doc["jwks"], is_coordinator), kid)
    _, claims = verify_compact(token, key, TYP["receipt"])
    return claims


def check_certificate(doc, cert):
    """Each signature verified on its own (as a flattened JWS) with the key the JWKS binds to its signer."""
    jwks = doc["jwks"]
    payload = b64u_json(cert["payload"])
    coordinator = []
    signers = []
    for sig in cert["signatures"]:
        header = b64u_json(sig["protected"])
        if header.get("typ") != TYP["certificate"] or header.get("alg") != ALG:
            raise ValueError("bad signature header %r" % header)
        if header.get("kpfl_signer") == "coordinator":
            key = key_by_kid(keys_where(jwks, is_coordinator), header["kid"])
        elif header.get("kpfl_signer") == "member":
            member = header["kpfl_member"]
            if member not in payload["members"]:
                raise ValueError("signer %s not listed" % member)
            key = member_key(jwks, member, header["kid"])
        else:
            raise ValueError("unknown signer kind")
        flat = {"payload": cert["payload"], "protected": sig["protected"], "signature": sig["signature"]}
        obj = jws.JWS()
        obj.allowed_algs = [ALG]
        obj.deserialize(json.dumps(flat))
        obj.verify(key, alg=ALG)
        if header["kpfl_signer"] == "coordinator":
            coordinator.append(header["kid"])
        else:
            signers.append(header["kpfl_member"])
    if len(coordinator) != 1:
        raise ValueError("%d coordinator signatures" % len(coordinator))
    if sorted(payload["attestationDigests"]) != payload["attestationDigests"]:
        raise ValueError("attestation digests not sorted")
    result = {"payload": payload, "signers": sorted(signers)}
    att = doc.get("attestation")
    if att:
        digest = "sha256:" + hashlib.sha256(att["jws"].encode("ascii")).hexdigest()
        if digest not in payload["attestationDigests"]:
            raise ValueError("attestation digest %s not listed" % digest)
        result["attestationListed"] = True
    return result


CHECKS = {
    "sessionToken": check_session,
    "challenge": check_challenge,
    "attestation": check_attestation,
    "receipt": check_receipt,
    "certificate": check_certificate,
}


def run(doc):
    results = {}
    ok = True
    for name, check in CHECKS.items():
        if name not in doc:
            continue
        try:
            results[name] = {"ok": True, "value": check(doc, doc[name])}
        except Exception as e:  # noqa: BLE001 - report every failure
            results[name] = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            ok = False
    for name, artifact in doc.get("negative", {}).items():
        key = "negative." + name
        try:
            CHECKS[name](doc, artifact)
            results[key] = {"ok": False, "error": "accepted a bad artifact"}
            ok = False
        except Exception as e:  # noqa: BLE001
            results[key] = {"ok": True, "refused": "%s: %s" % (type(e).__name__, e)}
    return ok, results


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "-"
    doc = json.load(sys.stdin if src == "-" else open(src, encoding="utf-8"))
    ok, results = run(doc)
    version = getattr(jwcrypto, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as v
            version = v("jwcrypto")
        except Exception:  # noqa: BLE001
            version = "unknown"
    print(json.dumps({"jwcrypto": version, "ok": ok, "results": results}, indent=1, default=str))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
