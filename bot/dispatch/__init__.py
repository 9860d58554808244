"""Outbound messages: the outbox dispatcher, one sender per channel, the worker loop.

    queue_message(session, …)     in the transaction that decided to send (outbound.py)
    dispatch_once(db, senders, …) claim due rows → send outside any transaction → record
    run_worker(settings, stop=…)  `huifang worker`, or in-process on the embedded default
"""
