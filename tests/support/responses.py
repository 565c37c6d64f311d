"""Reading the in-process app's responses: the status checked first (the body is shown when it
is wrong), the one error shape of the protocol, and the session cookie."""

from __future__ import annotations

from typing import Any

COOKIE = "hearth_session"


async def text_of(response: Any) -> str:
    data: str = await response.get_data(as_text=True)
    return data


async def json_of(response: Any, status: int) -> Any:
    """The JSON body, after checking the status (the body is shown when it is wrong)."""
    assert response.status_code == status, await text_of(response)
    return await response.get_json()


async def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check the one error shape of the protocol and return the inner `error` object."""
    body = await json_of(response, status)
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    return error


async def field_error(response: Any, loc: str) -> dict[str, Any]:
    """A 400 validation_error whose fields name `loc`."""
    error = await error_of(response, 400, "validation_error")
    assert loc in [item["loc"] for item in error["fields"]], error
    return error


async def not_a_member(response: Any) -> dict[str, Any]:
    return await error_of(response, 403, "not_a_member")


async def chat_not_found(response: Any) -> dict[str, Any]:
    return await error_of(response, 404, "chat_not_found")


async def forbidden(response: Any) -> dict[str, Any]:
    """A 403 for someone who is in the chat but lacks the role (or is not the sender)."""
    body = await json_of(response, 403)
    error: dict[str, Any] = body["error"]
    assert error["code"] != "not_a_member", error
    assert isinstance(error["message"], str) and error["message"], error
    return error


async def no_content(response: Any) -> None:
    assert response.status_code == 204, await response.get_data(as_text=True)


def set_cookies(response: Any) -> list[str]:
    return [
        value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{COOKIE}=")
    ]


def cookie_attributes(header: str) -> dict[str, str]:
    """'name=value; Secure; SameSite=Lax' -> {'name': 'value', 'secure': '', 'samesite': 'Lax'}."""
    parts = [part.strip() for part in header.split(";")]
    name, _, value = parts[0].partition("=")
    attributes = {name: value}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val
    return attributes


def session_cookie(response: Any) -> str:
    """The value of the hearth_session cookie a response sets."""
    (header,) = set_cookies(response)
    value = cookie_attributes(header)[COOKIE]
    assert value
    return value
