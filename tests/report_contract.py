"""A report in the shape of the JSON contract (/work's report-contract, as
`bot.services.reports.build_report` returns it), for the exports' and pages' tests while
they are built apart from the report query. Every kind of question once: a rating with
groups, a multiple choice whose shares add past 100%, an NPS, a number, a free text."""

from __future__ import annotations

from typing import Any

TICKETS = {"opened": 3, "resolved": 2, "confirmed": 1, "reopened": 0, "passed_up": 1}


def contract_report(*, scope_note: str = "") -> dict[str, Any]:
    return {
        "generated_at": "2026-11-30T12:00:00+08:00",
        "filters": {"flow_id": None, "category": None, "org": None, "campaign_id": None, "since": None, "until": None},
        "totals": {"invited": 120, "reached": 110, "started": 100, "completed": 95, "declined": 5, "opted_out": 2,
                   "opinions": 4, "tickets": dict(TICKETS)},
        "flows": [
            {
                "flow_id": 1, "category": "humanitarian_aid", "category_label": "人道救助", "title": "人道救助回访" + scope_note,
                "versions": [1, 2],
                "invited": 120, "reached": 110, "started": 100, "completed": 95, "declined": 5, "opted_out": 2,
                "questions": [
                    {"id": "overall", "type": "rating", "text": "您对红十字会的救助项目，总体评价怎么样？",
                     "answered": 98, "skipped": 0, "unreadable": 2,
                     "options": [
                         {"code": "very_good", "label": "非常好", "count": 60, "share": 0.6122},
                         {"code": "good", "label": "好", "count": 36, "share": 0.3673},
                         {"code": "average", "label": "一般", "count": 2, "share": 0.0204},
                         {"code": "poor", "label": "不好", "count": 0, "share": 0.0},
                     ],
                     "groups": [
                         {"label": "好或非常好", "codes": ["very_good", "good"], "count": 96, "share": 0.9796},
                         {"label": "一般或不好", "codes": ["average", "poor"], "count": 2, "share": 0.0204},
                     ]},
                    {"id": "other_services", "type": "multi", "text": "除了钱和物资，您还希望得到哪些帮助？",
                     "answered": 90, "skipped": 5, "unreadable": 0,
                     "options": [
                         {"code": "counselling", "label": "心理疏导", "count": 41, "share": 0.4556},
                         {"code": "policy_guidance", "label": "政策引导", "count": 32, "share": 0.3556},
                         {"code": "care_companionship", "label": "关怀陪伴", "count": 24, "share": 0.2667},
                         {"code": "social_integration", "label": "社会融入", "count": 23, "share": 0.2556},
                     ]},
                    {"id": "recommend", "type": "nps", "text": "您有多大可能向亲友推荐红十字会？",
                     "answered": 10, "skipped": 0, "unreadable": 0,
                     "options": [{"code": str(i), "label": str(i), "count": c, "share": round(c / 10, 4)}
                                 for i, c in enumerate([0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 3])],
                     "nps": {"score": 50.0, "promoters": 6, "passives": 3, "detractors": 1}},
                    {"id": "household", "type": "number", "text": "您家里有几口人？",
                     "answered": 6, "skipped": 1, "unreadable": 0,
                     "numbers": {"count": 6, "mean": 3.5, "median": 3.5, "min": 1, "max": 6,
                                 "distribution": [{"value": 1, "count": 1}, {"value": 3, "count": 2},
                                                  {"value": 4, "count": 2}, {"value": 6, "count": 1}]}},
                    {"id": "opinion", "type": "text", "text": "最后，您对我们的工作还有什么意见或建议吗？",
                     "answered": 3, "skipped": 92, "unreadable": 0,
                     "texts": [
                         {"answer_id": 11, "text": "救助款到现在还没收到", "kind": "complaint", "ticket_id": 7,
                          "at": "2026-11-29T10:00:00+08:00"},
                         {"answer_id": 12, "text": "希望多组织一些活动", "kind": "suggestion", "ticket_id": None,
                          "at": "2026-11-29T11:00:00+08:00"},
                         {"answer_id": 13, "text": "<script>alert(1)</script>", "kind": "none", "ticket_id": None,
                          "at": "2026-11-29T12:00:00+08:00"},
                     ]},
                ],
                "tickets": dict(TICKETS),
            }
        ],
        "crosstab": {"question_id": "overall", "by": "organisation",
                     "rows": [{"key": "jinjiang", "label": "锦江区红十字会", "counts": {"very_good": 3, "good": 1}, "answered": 4},
                              {"key": "wuhou", "label": "武侯区红十字会", "counts": {"good": 2, "poor": 1}, "answered": 3}]},
    }  # fmt: skip
