"""Administration: /api/v1/admin/*, for admins only."""

from __future__ import annotations

from quart import Blueprint, request
from quart_schema import tag, validate_request, validate_response

from appliance.api.current import hearth
from appliance.api.requests import AdminUserPatch, InviteIn
from appliance.api.shapes import AdminUsersOut, InviteOut, InvitesOut, LinkOut, MeOut
from appliance.clock import to_datetime
from appliance.services import views
from appliance.web.auth import admin_required, principal

blueprint = Blueprint("admin", __name__, url_prefix="/api/v1/admin")
tag_admin = tag(["admin"])


def base_url() -> str:
    """Links point where the admin reached us, unless server.public_url says otherwise."""
    configured = hearth().config.server.public_url
    return configured or f"{request.scheme}://{request.host}"


@blueprint.post("/invites")
@admin_required
@validate_request(InviteIn)
@validate_response(InviteOut, 201)
@tag_admin
async def create_invite(data: InviteIn) -> tuple[InviteOut, int]:
    """Make an invite link for `uses` sign-ups, valid for `days`."""
    invite = await hearth().accounts.create_invite(principal().user.id, data.uses, data.days)
    return views.invite(invite, base_url()), 201


@blueprint.get("/invites")
@admin_required
@validate_response(InvitesOut)
@tag_admin
async def list_invites() -> InvitesOut:
    """Recent invite links."""
    rows = await hearth().accounts.list_invites()
    return InvitesOut(invites=[views.invite(row, base_url()) for row in rows])


@blueprint.get("/users")
@admin_required
@validate_response(AdminUsersOut)
@tag_admin
async def list_users() -> AdminUsersOut:
    """Every account, disabled ones included."""
    return AdminUsersOut(users=[views.me(user) for user in await hearth().accounts.list_users()])


@blueprint.patch("/users/<int:user_id>")
@admin_required
@validate_request(AdminUserPatch)
@validate_response(MeOut)
@tag_admin
async def patch_user(user_id: int, data: AdminUserPatch) -> MeOut:
    """Disable or enable an account, grant or take admin rights."""
    user = await hearth().accounts.set_flags(
        user_id, disabled=data.disabled, is_admin=data.is_admin
    )
    return views.me(user)


@blueprint.post("/users/<int:user_id>/reset-link")
@admin_required
@validate_response(LinkOut, 201)
@tag_admin
async def reset_link(user_id: int) -> tuple[LinkOut, int]:
    """A one-time link with which the user sets a new password."""
    link = await hearth().accounts.create_reset_link(user_id)
    return LinkOut(
        url=f"{base_url()}/reset?token={link.token}", expires_at=to_datetime(link.expires_at)
    ), 201
