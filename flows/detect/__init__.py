"""Free-text detection: does an answer hold a complaint, a request for help, a suggestion?

Complaints and requests for help open tickets (`Detection.escalate`); suggestions are kept
as opinions for the report. Pure: rules are data (flows/detect/rules.py), an organisation
adds its own from text (`load_rules`), nothing here reads files or the clock.
"""

from __future__ import annotations

from flows.detect.classify import Detection, classify, wants_human
from flows.detect.nothing import says_nothing
from flows.detect.rules import PRECEDENCE
from flows.detect.ruleset import RuleSet, RulesFileError, load_rules, parse_rules

KINDS = PRECEDENCE

__all__ = [
    "KINDS",
    "Detection",
    "RuleSet",
    "RulesFileError",
    "classify",
    "load_rules",
    "parse_rules",
    "says_nothing",
    "wants_human",
]
