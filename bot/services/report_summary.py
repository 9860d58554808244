"""The written summary of a report, in the style of the 2022 article's result section:
one paragraph per flow (category) — how many were followed up, for each question the shares
of its answers ("98%的受访者评价为“好或非常好”"), and the opinions gathered and problems
solved — plus an opening paragraph over everything.

A pure function of the report dict (bot.services.reports.build_report), template-based and
deterministic: every number in the text is a figure of the report (a percentage is a
`share` × 100 with at most two decimals, as the article writes them: 98%, 45.5%, 50.97%).
"""

from __future__ import annotations

from typing import Any


def percent(share: float) -> str:
    """0.9834 → "98.34%", 0.98 → "98%", 0.455 → "45.5%"."""
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + "%"


def number(value: float | int) -> str:
    """75.0 → "75", 75.5 → "75.5"."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _picked(q: dict[str, Any]) -> list[dict[str, Any]]:
    """Options someone picked, most picked first (the flow's order among equals)."""
    return sorted((o for o in q.get("options", []) if o["count"]), key=lambda o: -o["count"])


def _question_zh(q: dict[str, Any]) -> str | None:
    if not q["answered"]:
        return None
    label = q["label"].rstrip("？?。")
    if q.get("groups"):
        parts = [f"{percent(g['share'])}的受访者评价为“{g['label']}”" for g in q["groups"] if g["count"]]
        return f"对于{label}，" + "，".join(parts) + "。"
    if q.get("options") is not None:
        verb = "评价为" if q["type"] == "rating" else "选择"
        parts = [f"{percent(o['share'])}的受访者{verb}“{o['label']}”" for o in _picked(q)]
        return f"对于{label}，" + "，".join(parts) + "。"
    if q["type"] == "nps" and q.get("nps") and q["nps"]["score"] is not None:
        n = q["nps"]
        return (f"对于{label}，净推荐值为{number(n['score'])}，其中推荐者{n['promoters']}人，"
                f"中立者{n['passives']}人，贬损者{n['detractors']}人。")  # fmt: skip
    if q["type"] == "number" and q.get("numbers") and q["numbers"]["count"]:
        n = q["numbers"]
        return f"对于{label}，{n['count']}位受访者作答，平均为{number(n['mean'])}，中位数为{number(n['median'])}。"
    return None


def _question_en(q: dict[str, Any]) -> str | None:
    if not q["answered"]:
        return None
    label = q["label_en"].rstrip("?.")
    if q.get("groups"):
        parts = [f"{percent(g['share'])} answered “{g['label_en']}”" for g in q["groups"] if g["count"]]
        return f"On {label}, " + ", ".join(parts) + "."
    if q.get("options") is not None:
        parts = [f"{percent(o['share'])} chose “{o['label_en']}”" for o in _picked(q)]
        return f"On {label}, " + ", ".join(parts) + "."
    if q["type"] == "nps" and q.get("nps") and q["nps"]["score"] is not None:
        n = q["nps"]
        return (f"On {label}, the Net Promoter Score is {number(n['score'])} ({_n(n['promoters'], 'promoter')}, "
                f"{_n(n['passives'], 'passive')}, {_n(n['detractors'], 'detractor')}).")  # fmt: skip
    if q["type"] == "number" and q.get("numbers") and q["numbers"]["count"]:
        n = q["numbers"]
        return f"On {label}, {n['count']} answered: mean {number(n['mean'])}, median {number(n['median'])}."
    return None


def _closing_zh(figures: dict[str, Any]) -> str:
    t = figures["tickets"]
    # Tickets come from low ratings and flagged answers as well as from opinions: not "from them".
    return (f"共收集意见和建议{figures['opinions']}条；回访中开立工单{t['opened']}个，已解决{t['resolved']}个，"
            f"向上级组织反映{t['passed_up']}个。")  # fmt: skip


def _n(count: int, noun: str, plural: str | None = None) -> str:
    """'1 ticket', '3 tickets', '1 person', '2 people'."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _closing_en(figures: dict[str, Any]) -> str:
    t, opinions = figures["tickets"], figures["opinions"]
    return (f"{_n(opinions, 'opinion')} {_were(opinions)} gathered; {_n(t['opened'], 'ticket')} "
            f"{_were(t['opened'])} opened during the surveys, {t['resolved']} solved and {t['passed_up']} "
            f"passed up to a parent organisation.")  # fmt: skip


def summary_zh(report: dict[str, Any]) -> list[str]:
    """Paragraphs in Chinese: the whole first, then one per flow."""
    totals = report["totals"]
    opening = f"本次共回访{totals['started']}人，其中{totals['completed']}人答完全部问题"
    if totals["invited"]:
        opening += f"（共邀请{totals['invited']}人）"
    paragraphs = [opening + "。" + _closing_zh(totals)]
    for f in report["flows"]:
        cat = f["category_label"]
        text = f"{cat}类。本次共回访{cat}对象{f['started']}人，其中{f['completed']}人答完全部问题。"
        if f["invited"]:
            text += f"本次活动共邀请{f['invited']}人，婉拒{f['declined']}人，退订{f['opted_out']}人。"
        text += "".join(s for s in map(_question_zh, f["questions"]) if s)
        paragraphs.append(text + _closing_zh(f))
    return paragraphs


def summary_en(report: dict[str, Any]) -> list[str]:
    """The same paragraphs in English."""
    totals = report["totals"]
    opening = (f"{_n(totals['started'], 'person', 'people')} {_were(totals['started'])} followed up, "
               f"{totals['completed']} of whom answered every question")  # fmt: skip
    if totals["invited"]:
        opening += f" ({totals['invited']} invited)"
    paragraphs = [opening + ". " + _closing_en(totals)]
    for f in report["flows"]:
        text = (f"{f['category_label_en']}. {_n(f['started'], 'person', 'people')} {_were(f['started'])} followed "
                f"up, {f['completed']} of whom answered every question.")  # fmt: skip
        if f["invited"]:
            text += (f" {f['invited']} {_were(f['invited'])} invited; {f['declined']} declined and "
                     f"{f['opted_out']} opted out.")  # fmt: skip
        text += "".join(" " + s for s in map(_question_en, f["questions"]) if s)
        paragraphs.append(text + " " + _closing_en(f))
    return paragraphs


__all__ = ["number", "percent", "summary_en", "summary_zh"]
