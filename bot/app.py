"""The web app: the container's lifespan, the health check, the channels' routes.

Everything it uses is built once by bot.container; nothing is made at import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse

from admin.web import mount_console
from bot.channels.wechat.route import wechat_router
from bot.container import open_container
from bot.dispatch.worker import InProcessWorker
from bot.long_running import settle_after_start
from bot.settings import Settings
from bot.web.errors import validation_error
from bot.web.simulator import simulator_router

# Any request's body, read by anyone before they log in: a flow file of 600,000 characters
# posted from a form fits; a 300 MB JSON to /api/v1/login is refused before it is read
# (413) instead of held in memory. Routes that take larger uploads (respondent lists)
# raise their own limit; the webhooks and the simulator keep smaller ones.
MAX_BODY_BYTES = 8 * 1024 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_container(settings) as container:
            app.state.container = container
            app.state.settings = settings
            app.state.db = container.db
            app.state.runtime = container.runtime
            # Embedded default: the outbox is sent from inside this process (one writer).
            worker = InProcessWorker(container) if container.wants_in_process_worker else None
            settle_after_start()
            try:
                yield
            finally:
                if worker is not None:
                    await worker.stop()

    docs = settings.api_docs_on  # off with PostgreSQL unless enabled: see Settings
    app = FastAPI(
        title="huifang 回访",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        max_body_size=MAX_BODY_BYTES,
    )
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]  # Starlette types handlers for Exception

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        await app.state.db.ping()
        return {"status": "ok"}

    if settings.simulator_on:  # off with PostgreSQL unless enabled: see Settings

        @app.get("/", include_in_schema=False)
        async def root() -> RedirectResponse:
            return RedirectResponse("/simulator")

        app.include_router(simulator_router(settings))
    if settings.telegram_bots:
        from bot.channels.telegram.webhook import telegram_router

        app.include_router(telegram_router(lambda: app.state.runtime, settings))
    app.include_router(wechat_router(settings))
    mount_console(app, settings)
    return app
