"""Administration: /api/v1/admin/*, for admins only."""

from __future__ import annotations

import datetime as dt

from quart import Blueprint, Response, request
from quart_schema import tag, validate_querystring, validate_request, validate_response

from appliance import __version__
from appliance.api.current import hearth
from appliance.api.requests import AdminUserPatch, AdminUserQuery, InviteIn
from appliance.api.shapes import (
    AdminHealthOut,
    AdminUsersOut,
    InviteOut,
    InvitesOut,
    LastBackupOut,
    LinkOut,
    MeOut,
    SignedOutOut,
)
from appliance.clock import to_datetime
from appliance.net.urls import base_urls
from appliance.services import views
from appliance.web import openapi
from appliance.web.auth import admin_required, principal
from appliance.web.contract import no_content
from appliance.web.personal import zip_download

blueprint = Blueprint("admin", __name__, url_prefix="/api/v1/admin")
tag_admin = tag(["admin"])


def base_url() -> str:
    """Links point where the admin reached us, unless server.public_url says otherwise."""
    configured = hearth().config.server.public_url
    return configured or f"{request.scheme}://{request.host}"


def link_bases() -> list[str]:
    """Every address people use for this Hearth, the one this request came to first: a link
    shown to an admin works from their device, and the others from devices elsewhere."""
    first = base_url()
    return [first, *(url for url in base_urls(hearth().config) if url != first)]


@blueprint.post("/invites")
@admin_required
@validate_request(InviteIn)
@validate_response(InviteOut, 201)
@tag_admin
async def create_invite(data: InviteIn) -> tuple[InviteOut, int]:
    """Make an invite link for `uses` sign-ups, valid for `days`."""
    invite = await hearth().accounts.create_invite(principal().user.id, data.uses, data.days)
    return views.invite(invite, link_bases()), 201


@blueprint.get("/invites")
@admin_required
@validate_response(InvitesOut)
@tag_admin
async def list_invites() -> InvitesOut:
    """Recent invite links."""
    rows = await hearth().accounts.list_invites()
    return InvitesOut(invites=[views.invite(row, link_bases()) for row in rows])


@blueprint.get("/users")
@admin_required
@validate_response(AdminUsersOut)
@tag_admin
@validate_querystring(AdminUserQuery)
async def list_users(query_args: AdminUserQuery) -> AdminUsersOut:
    """Every account, disabled ones included; `q` keeps those whose username or display name
    contains it."""
    rows = await hearth().accounts.list_users(query_args.q)
    return AdminUsersOut(users=[views.me(user) for user in rows])


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
    urls = [f"{base}/reset?token={link.token}" for base in link_bases()]
    return LinkOut(url=urls[0], urls=urls, expires_at=to_datetime(link.expires_at)), 201


@blueprint.post("/users/<int:user_id>/sign-out")
@admin_required
@validate_response(SignedOutOut)
@tag_admin
async def sign_out_everywhere(user_id: int) -> SignedOutOut:
    """End every session of the account: its open tabs and apps are signed out."""
    return SignedOutOut(sessions_ended=await hearth().accounts.sign_out_everywhere(user_id))


@blueprint.delete("/invites/<code>")
@admin_required
@validate_response(InviteOut)
@tag_admin
async def revoke_invite(code: str) -> InviteOut:
    """Stop an invite link working; those who joined with it stay."""
    return views.invite(await hearth().accounts.revoke_invite(code), link_bases())


@blueprint.get("/health")
@admin_required
@validate_response(AdminHealthOut)
@tag_admin
async def health() -> AdminHealthOut:
    """Version, uptime, who is online, calls, what is stored, the disk, the last backup."""
    context = hearth()
    totals = await context.health.totals()
    disk = await context.health.disk()
    connections, online = context.hub.registry.counts()
    calls = context.calls.book.calls()
    last = None
    found = context.health.last_backup()
    if found is not None:
        try:
            at = dt.datetime.fromisoformat(str(found["at"]))
            age = (dt.datetime.now(dt.UTC) - at).total_seconds()
            last = LastBackupOut(at=at, age_seconds=max(0.0, age), size=int(str(found["size"])))
        except (KeyError, ValueError):
            last = None  # an unreadable record is no backup to show
    return AdminHealthOut(
        version=__version__,
        uptime_seconds=context.health.uptime_seconds,
        people_online=online,
        connections=connections,
        calls_active=len(calls),
        call_participants=sum(len(call.participants) for call in calls),
        accounts=totals.users,
        messages=totals.messages,
        files=totals.files,
        files_bytes=totals.file_bytes,
        database_bytes=disk.database_bytes,
        disk_free_bytes=disk.free_bytes,
        disk_total_bytes=disk.total_bytes,
        last_backup=last,
    )


@blueprint.get("/users/<int:user_id>/export")
@admin_required
@openapi.binary_response
@tag_admin
async def export_user(user_id: int) -> Response:
    """A person's data as a zip, as GET /me/export gives them (for a request made to you)."""
    user = await hearth().accounts.get(user_id)
    path = await hearth().export.build(user_id)
    return await zip_download(path, f"hearth-{user.username}.zip")


@blueprint.delete("/users/<int:user_id>")
@admin_required
@no_content
@tag_admin
async def delete_user(user_id: int) -> None:
    """Delete an account as DELETE /me does (no password: you are the admin)."""
    await hearth().leaving.delete(user_id, None)
