"""A call's media: its participants, their two peer connections, and who feeds which slot.

Each participant has a publish connection (the browser offers one audio, one camera and one
screen transceiver, once) and a subscribe connection (the server offers a fixed number of
audio and video slots, once). Nothing is renegotiated afterwards: muting, camera off and
screen sharing change which sources are live, and the room re-deals its slots.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)

from appliance.config import CallSettings
from appliance.sfu import fastpath, hooks
from appliance.sfu.media import Slot, Source

log = logging.getLogger(__name__)

Notify = Callable[[int, str, dict[str, Any]], None]
OnFailed = Callable[[int, int], Awaitable[None]]

PUBLISHED = (("audio", "mic"), ("video", "camera"), ("video", "screen"))
SPEAKING = 40.0  # smoothed loudness (127 minus the -dBov level) above which someone speaks
SMOOTHING = 0.8  # weight of the previous loudness in the moving average, per packet
SWITCH_MARGIN = 8.0  # a new active speaker must be this much louder than the current one
SPEAKER_INTERVAL = 0.25  # seconds between active-speaker decisions, at most


def configuration() -> RTCConfiguration:
    """How every peer connection of a call is set up (the SFU's, and the test and bench peers
    that stand in for browsers)."""
    # No STUN or TURN server: a LAN appliance contacts nobody; host candidates suffice.
    # Max-bundle: every slot on one transport. (aiortc's default, "balanced", leaves the
    # second and later video slots of an offer on transports that never connect.)
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def prefer_codecs(transceiver: RTCRtpTransceiver, kind: str) -> None:
    """VP8 and Opus only (with RTX for video), so nobody ever needs a transcode."""
    wanted = "video/vp8" if kind == "video" else "audio/opus"
    capabilities = RTCRtpSender.getCapabilities(kind)
    assert capabilities is not None
    codecs = [c for c in capabilities.codecs if c.mimeType.lower() == wanted]
    codecs += [c for c in capabilities.codecs if c.mimeType.lower().endswith("/rtx")]
    transceiver.setCodecPreferences(codecs)


@dataclass
class Participant:
    user_id: int
    joined: int  # order of arrival
    publisher: RTCPeerConnection | None = None
    subscriber: RTCPeerConnection | None = None
    sources: dict[str, Source] = field(default_factory=dict)
    audio_slots: list[Slot] = field(default_factory=list)
    video_slots: list[Slot] = field(default_factory=list)
    mids: dict[int, str] = field(default_factory=dict)  # id(slot) -> mid
    media: dict[str, bool] = field(
        default_factory=lambda: {"mic": True, "camera": True, "screen": False}
    )
    loudness: float = 0.0
    spoke_at: float = 0.0
    dealt: list[dict[str, Any]] = field(default_factory=list)  # the last call.slots sent

    def live(self, name: str) -> Source | None:
        source = self.sources.get(name)
        return source if source is not None and self.media.get(name, False) else None

    async def close(self) -> None:
        for slot in self.audio_slots + self.video_slots:
            slot.stop()
        for source in self.sources.values():
            for slot in list(source.slots):
                slot.detach(source)
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                try:
                    await pc.close()
                except Exception as error:  # closing twice (the peer hung up as we left)
                    log.debug("closing a peer connection: %r", error)
                hooks.stop_leftover_tasks(pc)


class Room:
    def __init__(
        self,
        call_id: int,
        settings: CallSettings,
        notify: Notify,
        on_failed: OnFailed,
        forwarded: fastpath.Totals,
    ) -> None:
        self.call_id = call_id
        self.settings = settings
        self.notify = notify
        self.on_failed = on_failed
        self.forwarded = forwarded
        self.participants: dict[int, Participant] = {}
        self.speaker: int | None = None
        self._next_decision = 0.0  # monotonic: when the active speaker may next be chosen
        self._arrivals = 0
        self._tasks: set[asyncio.Future[Any]] = set()

    def participant(self, user_id: int) -> Participant:
        found = self.participants.get(user_id)
        if found is None:
            self._arrivals += 1
            found = self.participants[user_id] = Participant(user_id, self._arrivals)
        return found

    def _existing(self, user_id: int) -> Participant:
        found = self.participants.get(user_id)
        if found is None:
            raise LookupError(f"user {user_id} is not in call {self.call_id}")
        return found

    # --- publishing --------------------------------------------------------------------------

    async def publish(self, user_id: int, offer_sdp: str) -> str:
        """Answer a participant's publish offer: audio, camera and screen, in that order."""
        me = self.participant(user_id)
        if me.publisher is not None:
            raise ValueError("this participant publishes already")
        pc = me.publisher = RTCPeerConnection(configuration())
        self._watch(pc, user_id)
        receivers: list[tuple[RTCRtpReceiver, str, str]] = []
        for kind, name in PUBLISHED:
            transceiver = pc.addTransceiver(kind, direction="recvonly")
            prefer_codecs(transceiver, kind)
            receivers.append((transceiver.receiver, kind, name))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except Exception as error:
            raise ValueError(f"the publish offer was refused: {error}") from error
        used = {t.receiver for t in pc.getTransceivers() if t.mid is not None}
        for receiver, kind, name in receivers:
            if receiver not in used:
                continue
            heard = partial(self._heard, me) if kind == "audio" else None
            source = me.sources[name] = Source(receiver, kind, user_id, name, heard)
            if kind == "video":
                hooks.cap_remb(receiver, partial(self._cap, source))
        for dtls in {receiver.transport for receiver in used}:
            fastpath.take_datagrams(dtls)
        await pc.setLocalDescription(await pc.createAnswer())
        self.deal()
        return str(pc.localDescription.sdp)

    def _cap(self, source: Source, estimate: int) -> int:
        """The bitrate asked of a publisher: its own link's estimate, but no more than its
        slowest viewer can take, and within the configured floor and ceiling."""
        lowest = source.lowest_subscriber_estimate()
        wanted = estimate if lowest is None else min(estimate, lowest)
        floor = self.settings.bitrate_floor_kbps * 1000
        ceiling = self.settings.bitrate_ceiling_kbps * 1000
        return max(floor, min(wanted, ceiling))

    # --- subscribing -------------------------------------------------------------------------

    async def subscribe_offer(self, user_id: int) -> str:
        me = self._existing(user_id)
        if me.subscriber is not None:
            raise ValueError("this participant subscribes already")
        pc = me.subscriber = RTCPeerConnection(configuration())
        self._watch(pc, user_id)
        others = max(1, self.settings.max_participants - 1)
        counts = {
            "audio": min(self.settings.audio_slots, others),
            "video": min(self.settings.video_slots, others),
        }
        pairs: list[tuple[Slot, RTCRtpTransceiver]] = []
        for kind in ("audio", "video"):
            for _ in range(counts[kind]):
                slot = Slot(kind, self._resync, self.forwarded)
                transceiver = pc.addTransceiver(slot, direction="sendonly")
                prefer_codecs(transceiver, kind)
                slot.attach(transceiver.sender)
                pairs.append((slot, transceiver))
                (me.audio_slots if kind == "audio" else me.video_slots).append(slot)
        await pc.setLocalDescription(await pc.createOffer())
        for slot, transceiver in pairs:
            me.mids[id(slot)] = str(transceiver.mid)
            hooks.on_subscriber_feedback(
                transceiver.sender,
                keyframe=slot.subscriber_wants_keyframe,
                remb=slot.set_estimate,
            )
        return str(pc.localDescription.sdp)

    async def subscribe_answer(self, user_id: int, answer_sdp: str) -> None:
        me = self._existing(user_id)
        if me.subscriber is None:
            raise LookupError("no subscribe offer was made")
        try:
            await me.subscriber.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except Exception as error:
            raise ValueError(f"the subscribe answer was refused: {error}") from error
        for dtls in {t.sender.transport for t in me.subscriber.getTransceivers()}:
            fastpath.take_datagrams(dtls)
        me.dealt = []  # send this participant its slots even if nothing changed
        self.deal()

    def _resync(self, slot: Slot) -> None:
        if slot.source is not None:
            slot.source.request_keyframe()

    # --- media state and slots ---------------------------------------------------------------

    def set_media(self, user_id: int, *, mic: bool, camera: bool, screen: bool) -> None:
        me = self._existing(user_id)
        me.media = {"mic": mic, "camera": camera, "screen": screen}
        self.deal()

    def _ranked(self, viewer: Participant, kind: str) -> list[Source]:
        """Who a viewer should hear or see, best first: screens, then the most recent
        speakers (last-N), then the earliest arrivals."""
        others = sorted(
            (p for p in self.participants.values() if p is not viewer),
            key=lambda p: (-p.spoke_at, p.joined),
        )
        if kind == "audio":
            return [s for p in others if (s := p.live("mic")) is not None]
        screens = [s for p in others if (s := p.live("screen")) is not None]
        cameras = [s for p in others if (s := p.live("camera")) is not None]
        return screens + cameras

    def deal(self) -> None:
        """Give every subscriber's slots to the sources it should get, keeping a source in the
        slot it already has (no flicker), and tell each subscriber what changed."""
        for viewer in self.participants.values():
            for kind, slots in (("audio", viewer.audio_slots), ("video", viewer.video_slots)):
                if not slots:
                    continue
                chosen = self._ranked(viewer, kind)[: len(slots)]
                keep = {id(s.source) for s in slots if s.source in chosen}
                for slot in slots:
                    if slot.source is not None and id(slot.source) not in keep:
                        slot.show(None)
                waiting = [src for src in chosen if not any(s.source is src for s in slots)]
                for slot in slots:
                    if slot.source is None and waiting:
                        slot.show(waiting.pop(0))
            self._tell_slots(viewer)

    def _tell_slots(self, viewer: Participant) -> None:
        if viewer.subscriber is None or viewer.subscriber.remoteDescription is None:
            return
        dealt = [
            {
                "mid": viewer.mids[id(slot)],
                "kind": slot.kind,
                "user_id": slot.source_user,
                "source": None if slot.source is None else slot.source.name,
            }
            for slot in viewer.audio_slots + viewer.video_slots
        ]
        if dealt != viewer.dealt:
            viewer.dealt = dealt
            self.notify(viewer.user_id, "call.slots", {"call_id": self.call_id, "slots": dealt})

    # --- active speaker ----------------------------------------------------------------------

    def _heard(self, who: Participant, packet: Any) -> None:
        """An audio packet: its level moves its sender's loudness, and every SPEAKER_INTERVAL
        the active speaker is chosen again (as the packets come: loudness changes with them
        only, and a timer would wake the event loop four times a second)."""
        level = hooks.audio_level(packet)
        if level is None or not who.media.get("mic", False):
            return
        loudness = float(max(0, 127 - level))
        who.loudness = SMOOTHING * who.loudness + (1 - SMOOTHING) * loudness
        now = time.monotonic()
        if who.loudness >= SPEAKING:
            who.spoke_at = now
        if now >= self._next_decision:
            self._next_decision = now + SPEAKER_INTERVAL
            try:
                self.update_speaker()
            except Exception:  # the packet is still forwarded
                log.exception("active speaker update failed in call %s", self.call_id)

    def update_speaker(self) -> None:
        """Pick the active speaker, with hysteresis."""
        speaking = [p for p in self.participants.values() if p.loudness >= SPEAKING]
        if not speaking:
            return
        loudest = max(speaking, key=lambda p: p.loudness)
        current = self.participants.get(self.speaker) if self.speaker is not None else None
        if loudest is current:
            return
        if (
            current is not None
            and current.loudness >= SPEAKING
            and loudest.loudness < current.loudness + SWITCH_MARGIN
        ):
            return
        self.speaker = loudest.user_id
        for participant in self.participants.values():
            self.notify(
                participant.user_id,
                "speaker.active",
                {"call_id": self.call_id, "user_id": loudest.user_id},
            )
        self.deal()  # last-N: video may follow the new speaker

    # --- health and leaving ------------------------------------------------------------------

    def _watch(self, pc: RTCPeerConnection, user_id: int) -> None:
        @pc.on("connectionstatechange")
        async def _changed() -> None:
            # "closed" while still a participant: the other end went away (we pop a participant
            # before closing its connections ourselves).
            if pc.connectionState in {"failed", "closed"} and user_id in self.participants:
                log.info("call %s: user %s's connection %s", self.call_id, user_id,
                         pc.connectionState)  # fmt: skip
                task = asyncio.ensure_future(self.on_failed(self.call_id, user_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def leave(self, user_id: int) -> None:
        me = self.participants.pop(user_id, None)
        if me is None:
            return
        if self.speaker == user_id:
            self.speaker = None
        await me.close()
        self.deal()

    async def close(self) -> None:
        for user_id in list(self.participants):
            await self.leave(user_id)
        # Failure reports still pending are moot once the room closes: cancel them rather than
        # wait (one may be waiting for the very lock our closer holds), except the one that
        # may be closing us.
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
