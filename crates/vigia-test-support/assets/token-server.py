#!/usr/bin/env python3
"""A registry token server for tests, as Docker Hub and GHCR run one.

    token-server.py PORT KEY.pem CERT.pem USER PASSWORD ISSUER SERVICE

Answers `GET /token?service=…&scope=repository:NAME:pull,push` for a client that
sends the right user and password (HTTP basic), with a JWT signed RS256 by KEY
(`openssl dgst`), its certificate in the `x5c` header, granting the scopes
asked for, as the CNCF distribution registry's `auth.token` verifies them.
Anyone else gets 401. Stdlib and the openssl command only.
"""
import base64
import json
import subprocess
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

port, key, cert, user, password, issuer, service = sys.argv[1:8]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True, check=True).stdout
x5c = base64.b64encode(der).decode()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(claims):
    header = {"alg": "RS256", "typ": "JWT", "x5c": [x5c]}
    signing = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing.encode(),
                         capture_output=True, check=True).stdout
    return signing + "." + b64u(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/token":
            self.send_error(404)
            return
        want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if self.headers.get("Authorization") != want:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="vigia-test-token"')
            self.end_headers()
            return
        q = parse_qs(url.query)
        access = []
        for scope in q.get("scope", []):
            for one in scope.split(" "):
                kind, _, rest = one.partition(":")
                name, _, actions = rest.rpartition(":")
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        token = sign({"iss": issuer, "sub": user, "aud": q.get("service", [service])[0], "exp": now + 600,
                      "nbf": now - 60, "iat": now, "jti": uuid.uuid4().hex, "access": access})
        body = json.dumps({"token": token, "access_token": token, "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
