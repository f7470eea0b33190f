"""413 for request bodies over the configured limit (a larger one for event batches)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import errors

BATCH_CONTENT_TYPE = b"application/cloudevents-batch+json"


class BodyLimitMiddleware:
    """Refuses a declared `Content-Length` over the limit before reading anything; a body without
    one (chunked) is read up to the limit and refused as soon as it passes it.

    `uploads` maps a path to its own limit (an SSDA903 import: `IRO_MAX_IMPORT_BYTES`): its declared
    length is checked here, but its body is never buffered: the route streams it, counting as it goes."""

    def __init__(
        self, app: ASGIApp, *, default_limit: int, batch_limit: int, uploads: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.batch_limit = batch_limit
        self.uploads = dict(uploads or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        limit = self.batch_limit if content_type == BATCH_CONTENT_TYPE else self.default_limit
        upload = self.uploads.get(scope["path"])
        if upload is not None:
            limit = upload
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await errors.send_problem(send, errors.BadRequest("Content-Length is not a number."))
                return
            if length > limit:
                await errors.send_problem(send, self._too_large(limit))
                return
            await self.app(scope, receive, send)
            return
        if upload is not None or b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        # Chunked: buffer up to the limit, then replay.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await errors.send_problem(send, self._too_large(limit))
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _too_large(limit: int) -> errors.Problem:
        return errors.Problem(
            "Request body too large.",
            type_="payload-too-large",
            status=413,
            detail=f"The body is over the limit of {limit} bytes.",
            limit_bytes=limit,
        )
