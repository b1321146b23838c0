"""Token issuing and bearer authentication."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from bookshelf.security import create_access_token
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.api

LOGIN_URL = "/api/v1/auth/token"
PROTECTED = "/api/v1/books"


def jwt_secret() -> str:
    return os.environ["BOOKSHELF_JWT_SECRET"]


def test_token_for_valid_credentials(
    api_client: Any, credentials: dict[str, dict[str, str]]
) -> None:
    user = credentials["member"]
    response = api_client.post(
        LOGIN_URL, json={"email": user["email"], "password": user["password"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"].lower() == "bearer"  # noqa: S105 - not a secret
    ttl = int(os.environ.get("BOOKSHELF_TOKEN_TTL_SECONDS", "3600"))
    assert body["expires_in"] == ttl
    claims = jwt.decode(body["access_token"], jwt_secret(), algorithms=["HS256"])
    assert claims["role"] == "member"
    assert claims["exp"] - claims["iat"] == ttl


def test_email_is_case_insensitive(api_client: Any, credentials: dict[str, dict[str, str]]) -> None:
    user = credentials["librarian"]
    response = api_client.post(
        LOGIN_URL, json={"email": user["email"].upper(), "password": user["password"]}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["wrong-password", "unknown-email"])
def test_wrong_credentials(
    api_client: Any, credentials: dict[str, dict[str, str]], who: str
) -> None:
    email = credentials["member"]["email"] if who == "wrong-password" else "nobody@x.test"
    response = api_client.post(
        LOGIN_URL, json={"email": email, "password": secrets.token_urlsafe(8)}
    )
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["detail"] == "The email or password is incorrect."


def test_token_request_validation_does_not_echo_password(api_client: Any) -> None:
    password = secrets.token_urlsafe(12)
    response = api_client.post(LOGIN_URL, json={"password": password})
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "email"]
    assert password not in response.text


def test_nul_in_credentials_is_422(api_client: Any) -> None:
    response = api_client.post(LOGIN_URL, json={"email": "a\u0000@x.test", "password": "p"})
    assert_problem(response, 422)


def test_malformed_json_is_422(api_client: Any) -> None:
    response = api_client.post(
        LOGIN_URL, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 422)


def _token(secret: str, **claims: Any) -> str:
    now = int(datetime.now(UTC).timestamp())
    payload = {"sub": "1", "role": "librarian", "iat": now, "exp": now + 60, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer " + _token(secrets.token_urlsafe(32)),
        "Bearer " + jwt.encode({"sub": "1", "role": "librarian", "exp": 2**40}, None, "none"),
    ],
    ids=["missing", "empty", "no-token", "basic", "garbage", "wrong-key", "alg-none"],
)
def test_bad_authorization_is_401(api_client: Any, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api_client.get(PROTECTED, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_expired_token_is_401(api_client: Any) -> None:
    past = datetime.now(UTC) - timedelta(hours=3)
    token = create_access_token("1", "librarian", jwt_secret(), 60, now=past)
    response = api_client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)


@pytest.mark.parametrize("subject", ["999999", "0", "not-a-number", str(2**70)])
def test_token_for_unknown_user_is_401(api_client: Any, subject: str) -> None:
    token = _token(jwt_secret(), sub=subject)
    response = api_client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)


def test_role_comes_from_the_database_not_the_token(
    api_client: Any, auth_headers: dict[str, dict[str, str]]
) -> None:
    me = api_client.get("/api/v1/loans", headers=auth_headers["member"])
    assert me.status_code == 200
    member_token = auth_headers["member"]["Authorization"].split()[1]
    member_id = jwt.decode(member_token, jwt_secret(), algorithms=["HS256"])["sub"]
    forged = _token(jwt_secret(), sub=member_id, role="librarian")
    response = api_client.post(
        "/api/v1/books",
        json={"isbn": "1234567890", "title": "Forged"},
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert_problem(response, 403)


def test_deleted_user_token_is_401(make_client: Any) -> None:
    from sqlalchemy import delete

    from bookshelf.models import User

    client = make_client()
    headers = client.headers_for("member")
    assert client.get(PROTECTED, headers=headers).status_code == 200
    context = client.app.state.context
    with context.session_factory() as session:
        session.execute(delete(User).where(User.role == "member"))
        session.commit()
    assert_problem(client.get(PROTECTED, headers=headers), 401)


def test_undecodable_body_is_400_problem(api_client: Any) -> None:
    response = api_client.post(
        LOGIN_URL, content=b"\xff\xfe\x00", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)
