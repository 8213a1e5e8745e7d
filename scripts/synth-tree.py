#!/usr/bin/env python3
"""Generate a large source tree for secret-scanning benchmarks.

    scripts/synth-tree.py OUT [--mb 1100] [--seed 7]

Writes about MB megabytes of text files (Python, JavaScript, YAML, .env,
JSON, logs; 2 KB to 2 MB each, under nested project folders) whose lines are
built from real-looking code that mentions the words secret scanners key on
(`password`, `token`, `secret`, `api_key`, `AKIA`, `-----BEGIN` …) at a
realistic rate, with a few hundred planted credentials in known formats
(written to OUT/../planted.txt as `path:line:kind`, values random). The same
seed gives the same tree. Stdlib only.
"""
import argparse
import os
import random
import string

CODE = [
    "def handler(event, context):",
    "    token = event.get('headers', {}).get('Authorization')",
    "    if not token:",
    "        return {'statusCode': 401}",
    "    password = os.environ['DB_PASSWORD']",
    "    secret = get_secret(name='app/prod/api')",
    "    api_key = config.api_key",
    "    logger.info('refreshing token for %s', user_id)",
    "    for item in items:",
    "        total += item.price * item.quantity",
    "const token = req.headers['x-api-token'];",
    "const apiKey = process.env.API_KEY;",
    "function verifyPassword(password, hash) { return bcrypt.compare(password, hash); }",
    "module.exports = { secretName: 'orders/prod', region: 'eu-west-1' };",
    "  password: ${DB_PASSWORD}",
    "  token_ttl: 3600",
    "  secret_ref: vault://kv/orders",
    "# rotate the access key every 90 days; see runbook",
    "2026-11-28T10:00:00Z INFO request id=4f1c token=*** status=200 duration_ms=42",
    "2026-11-28T10:00:01Z WARN password reset requested for user 8812",
    "SELECT id, email, password_hash FROM users WHERE id = $1;",
    '    "description": "Stores the session token in an HttpOnly cookie",',
    "    return hmac.new(secret_key, msg, hashlib.sha256).hexdigest()",
    "    # The AKIA prefix marks long-term AWS access keys.",
    "    # -----BEGIN CERTIFICATE----- blocks below are public CA certificates",
    "x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]",
    "    result = await client.send(command, timeout=30)",
    "    if response.status_code != 200: raise UpstreamError(response.text)",
]
EXT = [".py", ".js", ".ts", ".yaml", ".json", ".env", ".log", ".conf", ".rb", ".go"]


def rand(chars, n, r):
    return "".join(r.choice(chars) for _ in range(n))


def planted(r):
    a = string.ascii_letters + string.digits
    kinds = [
        ("github-classic-pat", lambda: f'GITHUB_TOKEN = "ghp_{rand(a, 36, r)}"'),
        ("aws-access-key-id", lambda: f"aws_access_key_id = AKIA{rand('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16, r)}"),
        ("stripe-live-secret-key", lambda: f"STRIPE = 'sk_live_{rand(a, 60, r)}'"),
        ("slack-bot-token", lambda: f"SLACK = 'xoxb-{rand(string.digits, 12, r)}-{rand(string.digits, 13, r)}-{rand(a, 24, r)}'"),
        ("npm-access-token", lambda: f"//registry.npmjs.org/:_authToken=npm_{rand(a, 36, r)}"),
        ("postgresql-connection-uri", lambda: f"DATABASE_URL=postgresql://app:{rand(a, 20, r)}@db.internal:5432/app"),
    ]
    return r.choice(kinds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mb", type=int, default=1100)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    r = random.Random(a.seed)
    target = a.mb << 20
    written = 0
    n = 0
    log = []
    # Pre-built blocks of code keep generation fast.
    blocks = ["\n".join(r.choice(CODE) for _ in range(64)) + "\n" for _ in range(512)]
    while written < target:
        proj = f"project-{n // 400:03d}"
        sub = r.choice(["src", "lib", "app", "config", "deploy", "services/api", "services/worker", "scripts"])
        path = os.path.join(a.out, proj, sub, f"file_{n:06d}{r.choice(EXT)}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        size = int(min(2 << 20, max(2048, r.lognormvariate(10.3, 1.2))))
        parts, got, lines = [], 0, 0
        while got < size:
            b = r.choice(blocks)
            parts.append(b)
            got += len(b)
            lines += 64
        if r.random() < 0.05:
            kind, make = planted(r)
            at = r.randrange(len(parts))
            line_no = at * 64 + 1
            parts.insert(at, make() + "\n")
            log.append(f"{os.path.relpath(path, a.out)}:{line_no}:{kind}")
        with open(path, "w") as f:
            f.write("".join(parts))
        written += sum(len(p) for p in parts)
        n += 1
    with open(os.path.join(os.path.dirname(os.path.abspath(a.out)), "planted.txt"), "w") as f:
        f.write("\n".join(log) + "\n")
    print(f"{n} files, {written / (1 << 20):.0f} MiB, {len(log)} planted secrets in {a.out}")


if __name__ == "__main__":
    main()
