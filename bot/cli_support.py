"""What the small `huifang …` commands share: one transaction on the configured database,
and a refusal said in one line (exit 1) instead of a traceback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.container import Container

T = TypeVar("T")


def run_in_transaction(
    work: Callable[[Container, AsyncSession], Awaitable[T]],
    *,
    refused: tuple[type[Exception], ...],
    prefix: str = "",
) -> T:
    """`work(container, session)` in one transaction (committed when it returns); an error
    of a `refused` kind is printed as one line, with `prefix`, and the command exits 1.
    The bundled flows are not seeded here: these commands only read or change what they name."""
    from bot.container import open_container

    async def run() -> T:
        async with open_container(Settings(), publish_defaults=False) as c, c.db.transaction() as s:
            return await work(c, s)

    try:
        return asyncio.run(run())
    except refused as exc:
        click.echo(f"{prefix}{exc}", err=True)
        sys.exit(1)
