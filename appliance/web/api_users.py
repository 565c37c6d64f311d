"""Your own account and other people: /api/v1/me, /api/v1/users."""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart_schema import tag, validate_querystring, validate_request, validate_response

from appliance.api.current import hearth
from appliance.api.requests import DeleteAccountIn, PasswordChangeIn, ProfilePatch, UserQuery
from appliance.api.shapes import MeOut, UserOut, UsersOut
from appliance.services import views
from appliance.web import openapi
from appliance.web.auth import login_required, principal
from appliance.web.contract import no_content
from appliance.web.personal import zip_download

blueprint = Blueprint("users", __name__, url_prefix="/api/v1")
tag_users = tag(["users"])


@blueprint.get("/me")
@login_required
@validate_response(MeOut)
@tag_users
async def get_me() -> MeOut:
    """Your account."""
    return views.me(principal().user)


@blueprint.patch("/me")
@login_required
@validate_request(ProfilePatch)
@validate_response(MeOut)
@tag_users
async def patch_me(data: ProfilePatch) -> MeOut:
    """Change your display name, bio, status text or email."""
    changes = data.model_dump(exclude_unset=True)
    user = await hearth().accounts.update_profile(principal().user.id, changes)
    return views.me(user)


@blueprint.post("/me/password")
@login_required
@validate_request(PasswordChangeIn)
@no_content
@tag_users
async def change_password(data: PasswordChangeIn) -> None:
    """Change your password; every other session is signed out."""
    me = principal()
    await hearth().accounts.change_password(
        me.user.id, data.current_password, data.new_password, keep_session=me.session_id
    )


@blueprint.get("/me/export")
@login_required
@openapi.binary_response
@tag_users
async def export_me() -> Response:
    """Your data as a zip: profile.json, messages.json (every message you wrote, with its
    chat's name), files.json and files/ (what you uploaded)."""
    me = principal().user
    path = await hearth().export.build(me.id)
    return await zip_download(path, f"hearth-{me.username}.zip")


@blueprint.delete("/me")
@login_required
@validate_request(DeleteAccountIn)
@no_content
@tag_users
async def delete_me(data: DeleteAccountIn) -> None:
    """Delete your account (confirm with your password): you are signed out everywhere and
    cannot sign in again; your name, email and profile are removed; your messages stay, shown
    as from "Deleted user", or are deleted for everyone (`messages.on_account_deleted`)."""
    await hearth().leaving.delete(principal().user.id, data.password)


@blueprint.put("/me/avatar")
@login_required
@openapi.picture_request_body
@validate_response(MeOut)
@tag_users
async def put_avatar() -> MeOut:
    """Set your profile picture: a JPEG, PNG, GIF or WebP image as the raw body (at most
    `limits.max_image_bytes`). The server crops it to a centred square of at most 256 px and
    keeps it as WebP without its metadata; everyone you share a chat with gets user.updated."""
    return await hearth().avatars.set_mine(
        principal().user.id, request.body, length=request.content_length
    )


@blueprint.delete("/me/avatar")
@login_required
@validate_response(MeOut)
@tag_users
async def delete_avatar() -> MeOut:
    """Remove your profile picture (your initials show again)."""
    return await hearth().avatars.remove_mine(principal().user.id)


@blueprint.get("/users")
@login_required
@validate_querystring(UserQuery)
@validate_response(UsersOut)
@tag_users
async def search_users(query_args: UserQuery) -> UsersOut:
    """Find people by the start of their username or display name."""
    found = await hearth().accounts.search(query_args.q, query_args.limit)
    return UsersOut(users=[views.user(user) for user in found])


@blueprint.get("/users/<int:user_id>")
@login_required
@validate_response(UserOut)
@tag_users
async def get_user(user_id: int) -> UserOut:
    """One person's public profile."""
    return views.user(await hearth().accounts.get(user_id))
