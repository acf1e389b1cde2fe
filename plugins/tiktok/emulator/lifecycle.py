"""How a publish moves from init to a final state, and the caps that count publishes.

Progress is driven by status polls, not wall time, so tests see the same sequence every run:
while media is still arriving the status is PROCESSING_UPLOAD / PROCESSING_DOWNLOAD; once it is
complete, the next ``processing_polls`` polls still report processing, and the poll after that
finds the final state (PUBLISH_COMPLETE for Direct Post, SEND_TO_USER_INBOX for inbox uploads,
or FAILED with a forced fail_reason). With ``processing_polls=0`` the publish finishes the moment
its media is complete, which is what a webhook-only client needs. ``settle`` finishes at once.

Every transition emits the matching webhook envelope (tiktok-api.md §9.3) through
``state.event_sink``; ``publish_type`` is ``DIRECT_PUBLISH`` (the only real capture) or
``INBOX_SHARE``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from .records import MediaItem, PublishMode, PublishRecord

if TYPE_CHECKING:
    from .state import EmulatorState

DAY_S = 86_400.0


class Lifecycle:
    """Publish transitions and cap counting over one :class:`EmulatorState`."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def create(
        self,
        *,
        open_id: str,
        mode: PublishMode,
        media_type: Literal["VIDEO", "PHOTO"],
        source: Literal["FILE_UPLOAD", "PULL_FROM_URL"],
        body: dict[str, Any],
        privacy_level: str | None,
        prefix: str,
        total_bytes: int | None = None,
    ) -> PublishRecord:
        state = self._state
        publish = PublishRecord(
            publish_id=state.ids.publish_id(prefix),
            open_id=open_id,
            mode=mode,
            media_type=media_type,
            source=source,
            request_body=body,
            privacy_level=privacy_level,
            created_at=state.now(),
            status="PROCESSING_UPLOAD" if source == "FILE_UPLOAD" else "PROCESSING_DOWNLOAD",
            total_bytes=total_bytes,
            forced_fail_reason=state.fail_next.pop(0) if state.fail_next else None,
        )
        state.publishes[publish.publish_id] = publish
        state.published.append(publish)
        return publish

    def media_received(self, publish: PublishRecord, items: list[MediaItem], sha256: str) -> None:
        """All media bytes arrived; processing (counted in polls) starts now."""
        publish.items = items
        publish.sha256 = sha256
        publish.content_type = items[0].content_type if items else None
        publish.transferred_bytes = publish.total_bytes = sum(item.size for item in items)
        publish.media_complete = True
        if self._state.sniff_media and not all(item.recognised_format for item in items):
            publish.forced_fail_reason = publish.forced_fail_reason or "file_format_check_failed"
        self._maybe_finish(publish)

    def poll(self, publish: PublishRecord) -> None:
        """One status/fetch call: finish if processing is done, else count the poll."""
        if publish.terminal or not publish.media_complete:
            return
        if not self._maybe_finish(publish):
            publish.polls_after_media += 1

    def settle(self, publish_id: str | None) -> None:
        state = self._state
        targets = [state.publishes[publish_id]] if publish_id is not None else list(state.published)
        for publish in targets:
            if publish.media_complete and not publish.terminal:
                self._finish(publish)

    def fail(self, publish: PublishRecord, reason: str) -> None:
        publish.status = "FAILED"
        publish.fail_reason = reason
        self.emit("post.publish.failed", publish.open_id,
                  {"publish_id": publish.publish_id, "reason": reason, "publish_type": _publish_type(publish)})

    def complete_inbox(self, publish: PublishRecord, *, public: bool) -> None:
        if publish.mode != "inbox" or publish.status != "SEND_TO_USER_INBOX":
            raise ValueError(f"{publish.publish_id} is not waiting in the creator's inbox")
        publish.status = "PUBLISH_COMPLETE"
        self.emit("post.publish.complete", publish.open_id,
                  {"publish_id": publish.publish_id, "publish_type": "INBOX_SHARE"})
        if public:
            self._make_public(publish)

    def emit(self, event: str, open_id: str, content: dict[str, Any]) -> None:
        """Record a webhook envelope (``content`` double-encoded, as TikTok sends it) and hand it on."""
        state = self._state
        envelope = {
            "client_key": state.client_key,
            "event": event,
            "create_time": int(state.now()),
            "user_openid": open_id,
            "content": json.dumps(content),
        }
        state.events.append(envelope)
        if state.event_sink is not None:
            state.event_sink(envelope)

    # -- caps (rolling 24 h on the injected clock) -------------------------------------------

    def _recent(self, open_id: str | None, mode: PublishMode) -> list[PublishRecord]:
        since = self._state.now() - DAY_S
        return [p for p in self._state.published
                if p.mode == mode and p.created_at > since and open_id in (None, p.open_id)]

    def direct_posts_today(self, open_id: str) -> int:
        """Direct posts in the last 24 h that have not failed (they count toward ~15/day)."""
        return sum(1 for p in self._recent(open_id, "direct") if p.status != "FAILED")

    def pending_shares(self, open_id: str) -> int:
        """Inbox shares in the last 24 h the creator has not yet posted (and that did not fail)."""
        return sum(1 for p in self._recent(open_id, "inbox") if p.status not in ("PUBLISH_COMPLETE", "FAILED"))

    def active_direct_users(self) -> set[str]:
        """Creators who used Direct Post through this client in the last 24 h."""
        return {p.open_id for p in self._recent(None, "direct")}

    # -- internals ---------------------------------------------------------------------------

    def _maybe_finish(self, publish: PublishRecord) -> bool:
        if publish.terminal or not publish.media_complete:
            return False
        if publish.polls_after_media < self._state.processing_polls:
            return False
        self._finish(publish)
        return True

    def _finish(self, publish: PublishRecord) -> None:
        creator = self._state.creators.get(publish.open_id)
        reason = publish.forced_fail_reason or (creator.force_fail_reason if creator else None)
        if reason:
            self.fail(publish, reason)
        elif publish.mode == "inbox":
            publish.status = "SEND_TO_USER_INBOX"
            self.emit("post.publish.inbox_delivered", publish.open_id,
                      {"publish_id": publish.publish_id, "publish_type": "INBOX_SHARE"})
        else:
            publish.status = "PUBLISH_COMPLETE"
            self.emit("post.publish.complete", publish.open_id,
                      {"publish_id": publish.publish_id, "publish_type": "DIRECT_PUBLISH"})
            if publish.privacy_level == "PUBLIC_TO_EVERYONE":
                self._make_public(publish)

    def _make_public(self, publish: PublishRecord) -> None:
        post_id = self._state.ids.digits19()
        publish.post_ids.append(post_id)
        self.emit("post.publish.publicly_available", publish.open_id,
                  {"publish_id": publish.publish_id, "post_id": str(post_id), "publish_type": _publish_type(publish)})


def _publish_type(publish: PublishRecord) -> str:
    return "DIRECT_PUBLISH" if publish.mode == "direct" else "INBOX_SHARE"
