"""The stored Official Accounts as the webhook and the senders use them: decrypted, with
the environment's overrides (bot.channels.wechat.accounts), cached.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping

from bot.channels.wechat.accounts import SECRET_FIELDS, AccountConfig, env_name
from bot.channels.wechat.webhook import AccountKeys
from storage.db import Database
from storage.models import WeChatAccount
from storage.repositories.wechat_accounts import WeChatAccountRepository
from storage.secrets import SecretBox, SecretError

log = logging.getLogger(__name__)


def account_config(
    row: WeChatAccount, box: SecretBox, env: Mapping[str, str] | None = None
) -> AccountConfig:
    """The row with its secrets decrypted and its environment overrides; ValueError if the
    result is unusable (a bad EncodingAESKey, a secret no key opens…), naming the account
    but never the secret."""
    env = os.environ if env is None else env
    values: dict[str, str | None] = {}
    overridden = set()
    for f in SECRET_FIELDS:
        value = env.get(env_name(row.name, f))
        if value:
            values[f] = value
            overridden.add(f)
            continue  # the stored value is not needed, so it need not be readable either
        stored = getattr(row, f)
        try:
            values[f] = box.decrypt(stored) if stored else None
        except SecretError as exc:
            raise ValueError(f"WeChat account {row.name!r}, {f}: {exc}") from None
    if not values["token"]:
        raise ValueError(
            f"WeChat account {row.name!r}: 没有令牌 no token: set {env_name(row.name, 'token')} "
            f"or run `huifang wechat update-account {row.name} --token …`"
        )
    try:
        keys = AccountKeys(
            name=row.name,
            app_id=row.app_id,
            token=values["token"],
            aes_key=values["aes_key"] or None,
            app_secret=values["app_secret"] or None,
        )
    except ValueError as exc:
        raise ValueError(f"WeChat account {row.name!r}: {exc}") from None
    return AccountConfig(keys, row.template_id, row.organisation_id, frozenset(overridden))


class AccountDirectory:
    """The webhook's view of the accounts: all of them, cached for `ttl_s`.

    A name not in the cache is looked up on its own (one indexed query), and its absence is
    remembered for `miss_ttl_s`, so an account added with `huifang wechat add-account` is
    served at once while requests for a name that does not exist cannot turn into one
    query each.
    """

    MAX_MISSES = 1024  # remembered absent names; beyond that the oldest are forgotten

    def __init__(
        self,
        db: Database,
        *,
        box: SecretBox,
        ttl_s: float = 30.0,
        miss_ttl_s: float = 1.0,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._box = box
        self._ttl_s = ttl_s
        self._miss_ttl_s = miss_ttl_s
        self._env = env
        self._clock = clock
        self._accounts: dict[str, AccountConfig] = {}
        self._broken: dict[str, str] = {}  # name → why it cannot be served
        self._misses: dict[str, float] = {}  # name → when it was found absent
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, name: str) -> AccountConfig | None:
        """The account, or None if there is none of that name.

        Raises ValueError when the account exists but its configuration is unusable.
        """
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._ttl_s:
            await self._reload(since=self._loaded_at)
        elif name not in self._accounts and name not in self._broken:
            missed = self._misses.get(name)
            if missed is None or now - missed >= self._miss_ttl_s:
                await self._look_up(name)
        if name in self._broken:
            raise ValueError(self._broken[name])
        return self._accounts.get(name)

    def _take(self, row: WeChatAccount) -> None:
        try:
            self._accounts[row.name] = account_config(row, self._box, self._env)
            self._broken.pop(row.name, None)
        except ValueError as exc:
            if row.name not in self._broken:
                log.error("cannot serve %s", exc)
            self._broken[row.name] = str(exc)
            self._accounts.pop(row.name, None)

    async def _look_up(self, name: str) -> None:
        async with self._db.transaction() as s:
            row = await WeChatAccountRepository(s).get(name)
        if row is not None:
            self._misses.pop(name, None)
            self._take(row)
            return
        self._misses[name] = self._clock()
        while len(self._misses) > self.MAX_MISSES:
            del self._misses[next(iter(self._misses))]

    async def _reload(self, *, since: float | None) -> None:
        async with self._lock:
            if self._loaded_at != since:
                return  # another request reloaded while this one waited
            async with self._db.transaction() as s:
                rows = await WeChatAccountRepository(s).list()
            names = {row.name for row in rows}
            for gone in [n for n in [*self._accounts, *self._broken] if n not in names]:
                self._accounts.pop(gone, None)
                self._broken.pop(gone, None)
            for row in rows:
                self._take(row)
            self._misses.clear()
            self._loaded_at = self._clock()
