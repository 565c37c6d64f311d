"""Login rate limits: per account and per address, answered 429 with Retry-After."""

from __future__ import annotations

from tests.support.app import login_response, make_user, running
from tests.support.responses import error_of, json_of


async def test_first_login_from_an_address_is_not_a_crash(hearth, client, admin):
    """Pins the rate-limiter bug on its own: the very first login must not answer 500."""
    response = await login_response(client, "admin")
    assert response.status_code == 200, await response.get_data(as_text=True)


async def test_per_account_limit_answers_429_with_retry_after(tmp_path):
    limits = {"login_per_account": {"count": 3, "per_seconds": 60}}
    async with running(tmp_path, limits=limits) as (_, hearth, client):
        await make_user(hearth, "grace")
        for _ in range(3):
            await error_of(
                await login_response(client, "grace", "wrong password"), 401, "invalid_credentials"
            )
        response = await login_response(client, "grace", "wrong password")
        await error_of(response, 429, "rate_limited")
        retry_after = response.headers["Retry-After"]
        assert retry_after.isdigit()
        assert 1 <= int(retry_after) <= 61


async def test_per_account_limit_holds_even_for_the_right_password(tmp_path):
    limits = {"login_per_account": {"count": 3, "per_seconds": 60}}
    async with running(tmp_path, limits=limits) as (_, hearth, client):
        await make_user(hearth, "grace")
        for _ in range(3):
            await login_response(client, "grace", "wrong password")
        await error_of(await login_response(client, "grace"), 429, "rate_limited")


async def test_per_account_limit_does_not_block_other_accounts(tmp_path):
    limits = {"login_per_account": {"count": 3, "per_seconds": 60}}
    async with running(tmp_path, limits=limits) as (_, hearth, client):
        await make_user(hearth, "grace")
        await make_user(hearth, "linus")
        for _ in range(3):
            await login_response(client, "grace", "wrong password")
        await json_of(await login_response(client, "linus"), 200)


async def test_per_account_limit_counts_any_spelling_of_the_name(tmp_path):
    limits = {"login_per_account": {"count": 3, "per_seconds": 60}}
    async with running(tmp_path, limits=limits) as (_, hearth, client):
        await make_user(hearth, "grace")
        for name in ("grace", "Grace", "GRACE"):
            await login_response(client, name, "wrong password")
        await error_of(await login_response(client, "gRaCe", "wrong password"), 429, "rate_limited")


async def test_successful_login_resets_the_per_account_count(tmp_path):
    limits = {"login_per_account": {"count": 3, "per_seconds": 60}}
    async with running(tmp_path, limits=limits) as (_, hearth, client):
        await make_user(hearth, "grace")
        for _ in range(2):
            await login_response(client, "grace", "wrong password")
        await json_of(await login_response(client, "grace"), 200)
        for _ in range(2):
            await error_of(
                await login_response(client, "grace", "wrong"), 401, "invalid_credentials"
            )


async def test_per_address_limit_answers_429_with_retry_after(tmp_path):
    limits = {"login_per_address": {"count": 3, "per_seconds": 60}}
    async with running(tmp_path, limits=limits) as (_, _, client):
        for name in ("ann", "ben", "cat"):
            await error_of(await login_response(client, name), 401, "invalid_credentials")
        response = await login_response(client, "dan")
        await error_of(response, 429, "rate_limited")
        retry_after = response.headers["Retry-After"]
        assert retry_after.isdigit()
        assert 1 <= int(retry_after) <= 61
