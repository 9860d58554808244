"""`huifang secrets new-key | rotate`: the key that encrypts the secrets stored in the
database (HUIFANG_SECRET_KEY, see storage.secrets).

Rotating a key: put a new key first in HUIFANG_SECRET_KEY, keeping the old one after a
comma; run `huifang secrets rotate`; then drop the old key.
"""

from __future__ import annotations

import click

from bot.cli_support import run_in_transaction


@click.group(help="密钥加密 The key that encrypts stored secrets (HUIFANG_SECRET_KEY).")
def secrets() -> None:
    pass


@secrets.command("new-key", help="生成新密钥 Print a new key for HUIFANG_SECRET_KEY.")
def new_key() -> None:
    from storage.secrets import new_key as make

    # Only to stdout, so `export HUIFANG_SECRET_KEY=$(huifang secrets new-key)` works.
    click.echo(make())


@secrets.command(
    "rotate",
    help="重新加密 Re-encrypt every stored secret with the first key of HUIFANG_SECRET_KEY "
    "(plain text left from before is encrypted too), in one transaction.",
)
def rotate() -> None:
    from bot.services.accounts import AccountError, rotate_secrets

    # ValueError: a key in HUIFANG_SECRET_KEY that is not a Fernet key (said without it).
    count = run_in_transaction(
        lambda c, s: rotate_secrets(s, box=c.secrets, now=c.clock()), refused=(AccountError, ValueError)
    )
    click.echo(f"已用第一个密钥重新加密 {count} 个值 re-encrypted {count} stored secret(s) with the first key")
