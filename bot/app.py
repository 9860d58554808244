"""The composition root: settings → database → runtime → routes. Nothing is made at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from bot.channels.wechat.route import wechat_router
from bot.dispatch.worker import InProcessWorker, wants_in_process_worker
from bot.services.runtime import Runtime
from bot.services.flows import prepare
from bot.settings import Settings
from bot.web import simulator
from storage.db import Database


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        try:
            await prepare(
                db,
                migrate=settings.auto_migrate,
                publish_defaults=settings.publish_default_flows,
                extra_dir=settings.extra_flows_dir,
            )
            app.state.settings = settings
            app.state.db = db
            app.state.runtime = Runtime(db, settings.engine)
            # Embedded default: the outbox is sent from inside this process (one writer).
            worker = InProcessWorker(settings, db) if wants_in_process_worker(settings, db) else None
            try:
                yield
            finally:
                if worker is not None:
                    await worker.stop()
        finally:
            await db.dispose()

    app = FastAPI(title="huifang 回访", version="0.1.0", lifespan=lifespan)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        await app.state.db.ping()
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/simulator")

    app.include_router(simulator.router)
    if settings.telegram_bots:
        from bot.channels.telegram.webhook import telegram_router

        app.include_router(telegram_router(lambda: app.state.runtime, settings))
    app.include_router(wechat_router(settings))
    return app
