"""Setup, sign-up, sign-in, tokens and sessions: /api/v1/setup, /api/v1/auth/*."""

from __future__ import annotations

from quart import Blueprint, after_this_request, request
from quart.typing import ResponseTypes
from quart_schema import tag, validate_request, validate_response

from appliance import __version__
from appliance.api.current import hearth
from appliance.api.requests import ForgotIn, LoginIn, RefreshIn, ResetIn, SetupIn, SignupIn
from appliance.api.shapes import (
    InfoOut,
    InviteCheckOut,
    LoginOut,
    SessionsOut,
    TokensOut,
)
from appliance.clock import to_datetime
from appliance.services import views
from appliance.services.sessions import IssuedSession
from appliance.web.auth import (
    clear_session_cookie,
    client_address,
    login_required,
    principal,
    session_cookie_header,
)
from appliance.web.contract import no_content

blueprint = Blueprint("auth", __name__, url_prefix="/api/v1")
tag_auth = tag(["auth"])


def device_name(given: str) -> str:
    """What the client called itself, else its User-Agent, so devices can be told apart."""
    return given.strip() or request.headers.get("User-Agent", "")[:200] or "Unknown device"


def _signed_in(
    body: LoginOut, issued: IssuedSession, status: int
) -> tuple[LoginOut, int, dict[str, str]]:
    return body, status, session_cookie_header(issued)


@blueprint.get("/info")
@validate_response(InfoOut)
@tag_auth
async def info() -> InfoOut:
    """What a client needs before signing in: registration mode and whether setup is pending."""
    ctx = hearth()
    return InfoOut(
        name="Hearth",
        version=__version__,
        registration=ctx.config.registration.mode,
        setup_needed=await ctx.accounts.setup_needed(),
        max_image_bytes=ctx.config.limits.max_image_bytes,
        max_file_bytes=ctx.config.limits.max_file_bytes,
        email=ctx.mailings.enabled,
    )


@blueprint.post("/setup")
@validate_request(SetupIn)
@validate_response(LoginOut, 201)
@tag_auth
async def setup(data: SetupIn) -> tuple[LoginOut, int, dict[str, str]]:
    """Create the first (admin) account with the one-time setup token printed by the server."""
    ctx = hearth()
    user = await ctx.accounts.complete_setup(
        data.token, data.username, data.password, data.display_name, data.email
    )
    issued = await ctx.sessions.start(user, device_name(data.device), client_address())
    return _signed_in(views.signed_in(user, issued), issued, 201)


@blueprint.post("/auth/signup")
@validate_request(SignupIn)
@validate_response(LoginOut, 201)
@tag_auth
async def signup(data: SignupIn) -> tuple[LoginOut, int, dict[str, str]]:
    """Create an account (with an invite code when registration.mode is `invite`)."""
    ctx = hearth()
    user = await ctx.accounts.signup(
        data.username,
        data.password,
        display_name=data.display_name,
        email=data.email,
        invite=data.invite,
        address=client_address(),
    )
    issued = await ctx.sessions.start(user, device_name(data.device), client_address())
    return _signed_in(views.signed_in(user, issued), issued, 201)


@blueprint.get("/invites/<code>")
@validate_response(InviteCheckOut)
@tag_auth
async def check_invite(code: str) -> InviteCheckOut:
    """Whether an invite link can still be used."""
    invite = await hearth().accounts.get_invite(code)
    return InviteCheckOut(
        valid=True,
        expires_at=to_datetime(invite.expires_at),
        uses_left=invite.max_uses - invite.uses,
    )


@blueprint.post("/auth/login")
@validate_request(LoginIn)
@validate_response(LoginOut)
@tag_auth
async def login(data: LoginIn) -> tuple[LoginOut, int, dict[str, str]]:
    """Sign in by username or email. Sets the browser cookie and returns API tokens."""
    ctx = hearth()
    user = await ctx.accounts.authenticate(data.login, data.password, client_address())
    issued = await ctx.sessions.start(user, device_name(data.device), client_address())
    return _signed_in(views.signed_in(user, issued), issued, 200)


@blueprint.post("/auth/refresh")
@validate_request(RefreshIn)
@validate_response(TokensOut)
@tag_auth
async def refresh(data: RefreshIn) -> TokensOut:
    """Trade a refresh token for a new access token and a new refresh token (single use)."""
    issued = await hearth().sessions.refresh(data.refresh_token, client_address())
    return views.tokens(issued)


async def _signed_out(response: ResponseTypes) -> ResponseTypes:
    return clear_session_cookie(response)


@blueprint.post("/auth/logout")
@login_required
@no_content
@tag_auth
async def logout() -> None:
    """End the current session."""
    me = principal()
    await hearth().sessions.revoke(me.user.id, me.session_id)
    after_this_request(_signed_out)


@blueprint.post("/auth/forgot")
@validate_request(ForgotIn)
@no_content
@tag_auth
async def forgot_password(data: ForgotIn) -> None:
    """Email a reset link to the account a username or email names, at the address this
    request came to. Answers the same whether or not there is such an account (or an email
    address on it); 409 `email_not_set_up` when this Hearth has no SMTP; 429 past 3 an hour for
    one login or 10 from one address."""
    await hearth().mailings.reset_requested(data.login, request.host_url, client_address())


@blueprint.post("/auth/reset")
@validate_request(ResetIn)
@no_content
@tag_auth
async def reset_password(data: ResetIn) -> None:
    """Set a new password with an admin's reset link; signs the account out everywhere."""
    await hearth().accounts.redeem_reset_link(data.token, data.password)


@blueprint.get("/auth/sessions")
@login_required
@validate_response(SessionsOut)
@tag_auth
async def list_sessions() -> SessionsOut:
    """Your signed-in devices, most recently used first."""
    me = principal()
    rows = await hearth().sessions.active(me.user.id)
    return SessionsOut(sessions=[views.session(row, me.session_id) for row in rows])


@blueprint.delete("/auth/sessions/<session_id>")
@login_required
@no_content
@tag_auth
async def revoke_session(session_id: str) -> None:
    """Sign one of your devices out."""
    await hearth().sessions.revoke(principal().user.id, session_id)
