"""What one process remembers about the chats it talks in: order of delivery, live keyboard.

Only a convenience layer on top of the database (which holds everything that matters):
after a restart it is empty and the bot simply accepts any press, as it would without it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

ChatKey = tuple[str, int]  # (bot account, chat id): message ids count per chat and bot


@dataclass
class _Turns:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(frozen=True, slots=True)
class Keyboard:
    message_id: int
    live: bool  # False once a later message moved the conversation on


class Chats:
    def __init__(self, remember: int = 100_000) -> None:
        self._turns: dict[ChatKey, _Turns] = {}
        self._keyboards: OrderedDict[ChatKey, Keyboard] = OrderedDict()
        self._remember = remember

    @asynccontextmanager
    async def turn(self, key: ChatKey) -> AsyncIterator[None]:
        """One delivery at a time per chat, so two replies never interleave their messages."""
        turns = self._turns.setdefault(key, _Turns())
        turns.users += 1
        try:
            async with turns.lock:
                yield
        finally:
            turns.users -= 1
            if turns.users == 0:
                del self._turns[key]

    def keyboard_sent(self, key: ChatKey, message_id: int) -> None:
        self._keyboards[key] = Keyboard(message_id, live=True)
        self._keyboards.move_to_end(key)
        while len(self._keyboards) > self._remember:
            self._keyboards.popitem(last=False)

    def forget(self, key: ChatKey) -> None:
        """Another process (the outbox worker) sends this chat's next messages: which keyboard
        is live is no longer known here, so every press is accepted, as after a restart."""
        self._keyboards.pop(key, None)

    def retire_keyboard(self, key: ChatKey) -> int | None:
        """The live keyboard's message id, now marked as passed; None when there is none."""
        kb = self._keyboards.get(key)
        if kb is None or not kb.live:
            return None
        self._keyboards[key] = Keyboard(kb.message_id, live=False)
        return kb.message_id

    def is_stale(self, key: ChatKey, message_id: int | None) -> bool:
        """A press on a keyboard that belongs to a question already passed.

        Answering it would give its number to whatever question is current now.
        """
        kb = self._keyboards.get(key)
        if kb is None or message_id is None:
            return False
        return message_id != kb.message_id or not kb.live
