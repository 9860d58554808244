"""The Telegram channel (aiogram 3): webhook route, long polling, inline-keyboard replies.

    config    which bots, their tokens and webhook secrets (read by bot.settings)
    parse     an aiogram Update → an Inbound for the runtime (pure)
    keyboards inline keyboards for choice questions, and reading them back (pure)
    outgoing  a reply as outbox rows of one Telegram message each, and back (pure)
    outbox    keeping those rows in the turn's transaction; per-chat order
    sending   one sendMessage per row, and what Telegram's answer means for it
    delivery  after the commit: answer the press, send the kept rows at once (eager send)
    handler   parse → runtime → what to deliver; shared by the webhook and polling
    webhook   POST /telegram/{bot_name}
    polling   getUpdates loop for machines without a public URL

Kept free of imports here so that `bot.settings` can import `config` without aiogram.
"""
