"""The static scanners and the token forger on small snippets: what they flag and what they leave alone."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pytest_backend_agent.checks.security.hashing import scan_password_hashing
from pytest_backend_agent.checks.security.leakage import leaks_in
from pytest_backend_agent.checks.security.secret_scan import looks_like_secret, scan_secrets
from pytest_backend_agent.checks.security.timeouts import scan_http_timeouts
from pytest_backend_agent.checks.security.tokens import bearer_token, claims_of, forge, is_jwt


def _module(tmp_path: Path, source: str, name: str = "app.py") -> Path:
    path = tmp_path / name
    path.write_text(source)
    return path


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("import hashlib\ndef h(password):\n    return hashlib.md5(password.encode()).hexdigest()\n", ["md5"]),
        ("import hashlib\ndef h(pwd):\n    m = hashlib.sha1()\n    m.update(pwd.encode())\n", ["sha1"]),
        ("import hashlib\ndef h(password):\n    return hashlib.sha256(password.encode()).hexdigest()\n", ["sha256"]),
        ("from hashlib import new\ndef h(password):\n    return new('md5', password)\n", ["md5"]),
        ("import hashlib\ndef h(password, salt):\n    return hashlib.sha256(salt + password)\n", []),
        ("import hashlib\ndef etag(body):\n    return hashlib.md5(body).hexdigest()\n", []),
        ("import hashlib\ndef h(password, salt):\n    return hashlib.pbkdf2_hmac('sha256', password, salt, 1)\n", []),
    ],
)
def test_password_hashing(tmp_path: Path, source: str, flagged: list[str]) -> None:
    uses, _ = scan_password_hashing([_module(tmp_path, source)])
    assert [use.algorithm for use in uses] == flagged


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("import requests\nrequests.get('http://x')\n", ["requests.get"]),
        ("import requests\nrequests.get('http://x', timeout=None)\n", ["requests.get"]),
        ("import requests\nrequests.get('http://x', timeout=3)\n", []),
        ("import requests\ns = requests.Session()\ns.post('http://x')\n", ["requests.Session.post"]),
        ("from requests import post\npost('http://x')\n", ["requests.post"]),
        ("import httpx\nhttpx.get('http://x')\n", []),  # httpx has a 5 s default timeout
        ("import httpx\nhttpx.Client(timeout=None)\n", ["httpx.Client"]),
        ("from urllib.request import urlopen\nurlopen('http://x')\n", ["urllib.request.urlopen"]),
        ("import urllib.request\nurllib.request.urlopen('http://x', None, 5)\n", []),
        ("import requests\nrequests.get('http://x', **options)\n", []),
    ],
)
def test_http_timeouts(tmp_path: Path, source: str, flagged: list[str]) -> None:
    assert [call.call for call in scan_http_timeouts([_module(tmp_path, source)])] == flagged


def test_secret_shapes_in_source_and_config(tmp_path: Path) -> None:
    _module(tmp_path, 'DATABASE_URL = "postgresql://app:hunter2pass@db/app"\n')
    _module(tmp_path, "JWT_SECRET=a8f5f167f44f4964e6c998dee827110c\nDEBUG=true\n", ".env")
    _module(tmp_path, '{"api_key": "${API_KEY}", "password": "<set me>"}\n', "settings.json")
    (tmp_path / "tests").mkdir()
    _module(tmp_path / "tests", 'SECRET = "-----BEGIN RSA PRIVATE KEY-----"\n', "test_x.py")
    hits, _ = scan_secrets(tmp_path)
    assert sorted((hit.file.name, hit.line, hit.kind) for hit in hits) == [
        (".env", 1, "hard-coded JWT_SECRET"),
        ("app.py", 1, "connection string with a password"),
    ]
    assert all("hunter2pass" not in hit.preview for hit in hits)


def test_secret_shapes_in_other_languages_code(tmp_path: Path) -> None:
    """Key-shaped strings are found in JavaScript or Go too; code's name = value lines are variables, not secrets."""
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # split, so no scanner of this repository mistakes it for a key
    _module(tmp_path, f"const stripe = '{key}';\n", "server.js")
    _module(tmp_path, "const user = { password: process.env.ITEMS_PASSWORD_VALUE };\n", "users.ts")
    _module(tmp_path, 'var dsn = "postgres://app:hunter2pass@db/app"\n', "main.go")
    (tmp_path / "node_modules" / "lib").mkdir(parents=True)
    _module(tmp_path / "node_modules" / "lib", f"const key = '{key}';\n", "index.js")
    hits, scanned = scan_secrets(tmp_path)
    assert sorted((hit.file.name, hit.kind) for hit in hits) == [
        ("main.go", "connection string with a password"),
        ("server.js", "Stripe secret key"),
    ]
    assert scanned == 3


@pytest.mark.parametrize(
    ("value", "secret"),
    [("bearer", False), ("/auth/token", False), ("${JWT}", False), ("not a secret", False), ("s3cr3t-key!", True)],
)
def test_what_looks_like_a_secret(value: str, secret: bool) -> None:
    assert looks_like_secret(value) is secret


def test_forged_tokens_keep_the_claims_and_break_the_signature() -> None:
    real = forge("other_key", {"sub": "42", "role": "member"})
    assert is_jwt(real)
    assert claims_of(real)["sub"] == "42"
    none = forge("alg_none", claims_of(real))
    header = json.loads(base64.urlsafe_b64decode(none.split(".")[0] + "=="))
    assert header["alg"] == "none"
    assert none.endswith(".")
    assert claims_of(none)["role"] == "member"
    assert not is_jwt(forge("malformed", {}))
    assert bearer_token({"authorization": "Bearer abc"}) == "abc"
    assert bearer_token({"X-Api-Key": "abc"}) is None


@pytest.mark.parametrize(
    ("body", "kinds"),
    [
        ('Traceback (most recent call last):\n  File "/srv/app/main.py", line 3', ["a stack trace", "a file path"]),
        (
            'sqlite3.OperationalError: near "\'": syntax error',
            ["SQL text or a database error", "an exception class name"],
        ),
        (  # Node.js: an Express-style handler that answers err.stack
            '{"detail":"SyntaxError: Unexpected end of JSON input\\n    at JSON.parse (<anonymous>)\\n    '
            "at readJson (/srv/items/server.js:185:40)\\n    at process.processTicksAndRejections "
            '(node:internal/process/task_queues:95:5)"}',
            ["a stack trace", "an exception class name", "a file path"],
        ),
        (
            "TypeError: x is undefined\n    at file:///srv/app/routes.mjs:7:3",
            ["a stack trace", "an exception class name", "a file path"],
        ),
        (
            "panic: runtime error: index out of range\n\ngoroutine 1 [running]:\nmain.handler(...)\n"
            "\t/home/app/main.go:12 +0x1d",
            ["a stack trace", "a file path"],
        ),
        ("app/models/item.rb:14:in `find': boom", ["a stack trace", "a file path"]),
        ('{"detail": "Not Found"}', []),
        ('{"detail": "qty must be between 0 and 1000", "docs": "https://example.com/items.json"}', []),
        ('{"detail": "the body is not valid JSON; send it as application/json"}', []),
        ('{"type": "about:blank", "title": "Unprocessable Content", "status": 422}', []),
    ],
)
def test_leaks_in_error_bodies(body: str, kinds: list[str]) -> None:
    assert [kind for kind, _ in leaks_in(body)] == kinds
