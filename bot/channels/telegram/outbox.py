"""A Telegram chat's messages in the outbox: kept with the turn, sent in order.

Every reply is written as outbox rows in the transaction of the turn that produced it
(`keep`, applied by the runtime through bot.services.outbound.keep_reply), so a committed
answer always has its reply kept. Then one of two things sends the rows:

- the eager send (delivery.py), right after the commit, in this process. The rows are born
  "sending" (claimed by it), so no worker touches them unless this process dies, in which
  case they are reclaimed after the outbox's stale_after and sent again (maybe twice, never
  lost);
- the dispatcher worker (bot/dispatch/telegram.py), for every row the eager send could not
  send, or did not try.

Order per chat. A row is sent only when no earlier row of its chat is still waiting
("pending") or on its way ("sending"):
- keep_reply claims the new rows for the eager send only when the chat has no earlier row
  waiting. Otherwise the new rows stay pending behind them, and the earlier ones are made due
  at once (the respondent wrote, so try the chat's queue now), for the worker, whose pass
  takes a chat's rows in id order and sends them one after another;
- the eager send checks again after the commit, once it holds the chat's turn, whether an
  earlier row is still unsent (a previous reply whose eager send failed meanwhile, or a row
  a worker is sending); if so it hands its rows to the worker instead;
- the worker's sender refuses ("waiting", retried later) a row with an earlier one unsent.

The queue's reads and writes are bot.services.outbound's (channels never touch storage).
"""

from __future__ import annotations

from bot.channels.telegram.outgoing import reply_key, reply_parts
from bot.services.outbound import KeepReply, ReplyPart


def keep(lang: str) -> KeepReply:
    """Every Telegram reply is kept in the outbox with its turn and claimed for the eager
    send, one row per Telegram message."""
    return KeepReply(
        parts=lambda reply: [ReplyPart(p.text, p.template_data) for p in reply_parts(reply, lang)],
        key=reply_key,
        eager=True,
    )
