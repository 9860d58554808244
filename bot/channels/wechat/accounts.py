"""Official Accounts as the webhook and the API client need them, with secrets overridable
from the environment.

    HUIFANG_WECHAT_<NAME>_TOKEN, HUIFANG_WECHAT_<NAME>_AES_KEY, HUIFANG_WECHAT_<NAME>_APP_SECRET

<NAME> is the account name upper-cased with every other character than A–Z and 0–9 turned
into "_" (account "sc-chengdu" → HUIFANG_WECHAT_SC_CHENGDU_APP_SECRET). A value in the
environment wins over the stored one, so production can keep secrets out of the database.
Stored secrets are encrypted; bot.services.account_directory reads and opens them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.channels.wechat.webhook import AccountKeys

SECRET_FIELDS = ("token", "aes_key", "app_secret")


def env_name(account: str, field: str) -> str:
    """The environment variable that overrides `field` of `account`."""
    return f"HUIFANG_WECHAT_{re.sub(r'[^A-Z0-9]', '_', account.upper())}_{field.upper()}"


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """Everything about one account the channel uses; `keys` holds the effective secrets."""

    keys: AccountKeys
    template_id: str | None
    organisation_id: int | None
    from_env: frozenset[str]  # which of SECRET_FIELDS came from the environment

    @property
    def name(self) -> str:
        return self.keys.name
