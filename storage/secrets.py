"""Secrets at rest: Fernet tokens under keys the operator holds (HUIFANG_SECRET_KEY).

Several keys may be given; the first encrypts, every one decrypts, so a key is rotated by
putting the new one first, running `huifang secrets rotate`, then dropping the old one.
Stored values carry a prefix, so a value written before encryption was turned on (plain
text) is still recognised and read as it is, and `rotate` encrypts it.

Pure: no settings, no database. Nothing here puts a secret into an exception or a repr.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"

NO_KEY = (
    "未设置 HUIFANG_SECRET_KEY，不能保存密钥；用 `huifang secrets new-key` 生成一个并放进服务的环境变量，"
    "或把密钥放在 HUIFANG_WECHAT_<NAME>_TOKEN / _AES_KEY / _APP_SECRET 环境变量里。 "
    "HUIFANG_SECRET_KEY is not set, so secrets cannot be stored: make one with "
    "`huifang secrets new-key` and put it in the service's environment, or keep the secrets in "
    "HUIFANG_WECHAT_<NAME>_TOKEN / _AES_KEY / _APP_SECRET instead."
)


class SecretError(ValueError):
    """A secret cannot be stored or read; the message never holds the secret."""


class SecretKeyMissing(SecretError):
    """A secret was to be stored (or an encrypted one read) without any key."""


class UndecryptableSecret(SecretError):
    """A stored secret that none of the keys opens (wrong key, or a damaged value)."""


def new_key() -> str:
    """A fresh key for HUIFANG_SECRET_KEY (URL-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(value: str | None) -> list[str]:
    """HUIFANG_SECRET_KEY's comma-separated keys, in order, blanks dropped."""
    return [k.strip() for k in (value or "").split(",") if k.strip()]


class SecretBox:
    """Encrypts with the first key, decrypts with any; with no key at all it still reads plain
    text left from before, and refuses everything else with `SecretKeyMissing`."""

    def __init__(self, keys: Iterable[str | bytes] = ()) -> None:
        fernets = []
        for i, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # The key itself stays out of the message: it is the secret.
                raise ValueError(
                    f"HUIFANG_SECRET_KEY 第 {i} 个密钥无效 key #{i} is not a Fernet key "
                    "(32 bytes, URL-safe base64; make one with `huifang secrets new-key`)"
                ) from None
        self._fernet = MultiFernet(fernets) if fernets else None

    @property
    def can_encrypt(self) -> bool:
        return self._fernet is not None

    @staticmethod
    def is_encrypted(stored: str) -> bool:
        return stored.startswith(PREFIX)

    def encrypt(self, plain: str) -> str:
        if self._fernet is None:
            raise SecretKeyMissing(NO_KEY)
        return PREFIX + self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The plain value; a value without the prefix is plain text from before and is
        returned as it is."""
        if not self.is_encrypted(stored):
            return stored
        if self._fernet is None:
            raise SecretKeyMissing(
                "密钥已加密但未设置 HUIFANG_SECRET_KEY "
                "the secret is encrypted but HUIFANG_SECRET_KEY is not set"
            )
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise UndecryptableSecret(
                "HUIFANG_SECRET_KEY 中没有能解密的密钥 no key in HUIFANG_SECRET_KEY decrypts the stored secret"
            ) from None

    def rotate(self, stored: str) -> str:
        """The value encrypted under the first key (plain text from before is encrypted)."""
        if self._fernet is None:
            raise SecretKeyMissing(NO_KEY)
        if not self.is_encrypted(stored):
            return self.encrypt(stored)
        try:
            token = self._fernet.rotate(stored[len(PREFIX) :].encode("ascii"))
        except InvalidToken:
            raise UndecryptableSecret(
                "HUIFANG_SECRET_KEY 中没有能解密的密钥 no key in HUIFANG_SECRET_KEY decrypts the stored secret"
            ) from None
        return PREFIX + token.decode("ascii")

    def __repr__(self) -> str:
        return f"SecretBox(keys={'yes' if self._fernet else 'none'})"
