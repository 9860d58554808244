"""What a QR scene or a menu key asks for, in the terms the runtime understands.

    scene "c:<category>"    subscribe/scan through a category poster: start that survey
    scene "r:<respondent>"  a respondent's own QR code: bind this openid to them, then start
    menu key "survey:<category>"   start that survey
    menu key "human"        the respondent asks for a person (bot.services.requests)

Anything else (numeric scenes of old posters, menu keys of other features) starts nothing
new: the respondent is asked the current question again, or which group they are in.
A category is never guessed from an unprefixed key, because the category menu also accepts
numbers and scene 3 of some old poster would otherwise start category 3.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from bot.channels.base import Inbound

log = logging.getLogger(__name__)

CATEGORY_SCENE = "c:"
RESPONDENT_SCENE = "r:"
SURVEY_KEY = "survey:"
HUMAN_KEY = "human"

_CATEGORY = re.compile(r"[A-Za-z0-9_-]{1,62}")
_RESPONDENT = re.compile(r"[1-9][0-9]{0,17}")

def category_scene(category: str) -> str:
    if not _CATEGORY.fullmatch(category):
        raise ValueError(f"category code {category!r} cannot be put in a QR scene")
    return CATEGORY_SCENE + category


def respondent_scene(respondent_id: int) -> str:
    if respondent_id < 1:
        raise ValueError("a respondent id is a positive number")
    return f"{RESPONDENT_SCENE}{respondent_id}"


def interpret(inbound: Inbound, msg_type: str | None = None) -> Inbound:
    """The inbound message as the runtime should see it. Pure."""
    if inbound.kind == "unsupported" and inbound.text is None:
        # The runtime reads a message without text as "say where we are" and would skip the
        # polite request; the text also records what arrived ("[image]", "[voice]"…).
        return replace(inbound, text=f"[{msg_type or 'unsupported'}]")
    if inbound.kind != "start":
        return inbound
    payload = (inbound.start_payload or "").strip()
    plain = replace(inbound, start_payload=None)
    if payload.startswith(CATEGORY_SCENE) and _CATEGORY.fullmatch(code := payload[len(CATEGORY_SCENE) :]):
        return replace(inbound, start_payload=code)
    if payload.startswith(SURVEY_KEY) and _CATEGORY.fullmatch(code := payload[len(SURVEY_KEY) :]):
        return replace(inbound, start_payload=code)
    if payload.startswith(RESPONDENT_SCENE) and _RESPONDENT.fullmatch(ref := payload[len(RESPONDENT_SCENE) :]):
        return replace(plain, bind_respondent=int(ref))
    if payload == HUMAN_KEY:
        return replace(plain, wants_human=True)
    if payload:
        log.info("wechat %s: unknown scene or menu key %r, treated as a plain start", inbound.account, payload)
    return plain
