"""The app for the report pages' and downloads' tests (conftest's tree and accounts), with `bot.services.reports.build_report`
(the reports-core branch) stood in for by the contract's example report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from fastapi import FastAPI

from admin.reports.source import report_builder
from bot.app import create_app
from storage.db import Database
from tests.admin.conftest import settings_for
from tests.report_contract import contract_report


class FakeBuilder:
    """Stands in for bot.services.reports.build_report (another branch): returns the
    contract's example report and remembers the scope and filters it was asked for."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, session: Any, *, scope: Any, **filters: Any) -> dict[str, Any]:
        self.calls.append({"scope": scope.path, **filters})
        return contract_report()


@pytest_asyncio.fixture
async def builder() -> FakeBuilder:
    return FakeBuilder()


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database, builder: FakeBuilder) -> AsyncIterator[FastAPI]:
    application = create_app(settings_for(db_url, in_process_worker=False))
    application.dependency_overrides[report_builder] = lambda: builder
    async with application.router.lifespan_context(application):
        yield application
