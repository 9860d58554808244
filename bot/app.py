"""The composition root: settings → database → runtime → routes. Nothing is made at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from bot.runtime import Runtime
from bot.services import prepare
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
            yield
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
    return app
