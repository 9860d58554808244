"""What respondents type to the nine default surveys, read as they mean it (a sweep of
phrasings older people use: numbers in words around them, praise of the part a question
names as a problem, a part of an option's words after its 不, a "none" beside a choice).

"ASK" means the answer is not recorded and the question is asked again: better than
recording the opposite of what was meant.
"""

from __future__ import annotations

from typing import Any

import pytest

from flows.answers import parse_answer
from flows.loader import default_flow_paths, followup_flow_paths, load_flow

FLOWS = {flow.id: flow for flow in (load_flow(path) for path in [*default_flow_paths(), *followup_flow_paths()])}
ASK = "ASK"


@pytest.mark.parametrize(
    ("flow", "question", "raw", "expected"),
    [
        # A number wrapped in everyday words, or as a keycap emoji.
        ("volunteer", "overall", "我觉得第一个", "very_good"),
        ("volunteer", "overall", "应该是第二个", "good"),
        ("volunteer", "overall", "就是第二个", "good"),
        ("volunteer", "overall", "嗯2", "good"),
        ("volunteer", "overall", "2谢谢", "good"),
        ("volunteer", "overall", "选项2", "good"),
        ("volunteer", "overall", "那就选2吧", "good"),
        ("volunteer", "overall", "1️⃣", "very_good"),
        ("humanitarian_aid", "other_services", "1️⃣3️⃣", ["counselling", "care_companionship"]),
        # The words right after a 不 in an option say the opposite of it.
        ("volunteer", "main_problem", "知道怎么参加", ASK),
        ("volunteer", "main_problem", "知道参与方式", ASK),
        ("three_donations", "main_worry", "方便", ASK),
        ("three_donations", "main_problem", "丰富", ASK),
        ("donation", "unhappy_aspects", "方便", ASK),
        # … while the option's own negated words pick it.
        ("donation", "unhappy_aspects", "效率不高", ["project_efficiency"]),
        ("donation", "unhappy_aspects", "反馈不够", ["feedback"]),
        # Praise of the part a question names as a problem is not that problem.
        ("humanitarian_aid", "main_problem", "服务态度很好", ASK),
        ("humanitarian_aid", "main_problem", "服务态度还行", ASK),
        ("first_aid_training", "unhappy_part", "实操很好", ASK),
        ("first_aid_training", "unhappy_part", "讲课很好", ASK),
        ("humanitarian_aid", "main_problem", "态度不好", "staff_attitude"),
        # Several choices, one of them as part of its words: none dropped.
        ("humanitarian_aid", "other_services", "心理 陪伴", ["counselling", "care_companionship"]),
        ("humanitarian_aid", "other_services", "心理陪伴", ["counselling", "care_companionship"]),
        ("humanitarian_aid", "other_services", "心理疏导 政策", ["counselling", "policy_guidance"]),
        ("humanitarian_aid", "other_services", "政策 陪伴", ["policy_guidance", "care_companionship"]),
        # "Nothing needed" beside a need cannot both be meant; "除了…" alone is half a sentence.
        ("humanitarian_aid", "other_services", "1和5", ASK),
        ("humanitarian_aid", "other_services", "不需要心理疏导", ASK),
        ("humanitarian_aid", "other_services", "除了心理疏导", ASK),
        (
            "humanitarian_aid",
            "other_services",
            "除了心理疏导都要",
            ["policy_guidance", "care_companionship", "social_integration"],
        ),
        # Scorn holding a good word is never praise.
        ("humanitarian_aid", "overall", "好什么好", ASK),
        ("humanitarian_aid", "overall", "好个屁", ASK),
        ("humanitarian_aid", "overall", "谁说好了", ASK),
        ("humanitarian_aid", "overall", "还好意思问", ASK),
        # How well they know a policy, in degrees.
        ("donation", "tax_policy", "有点了解", "heard_of_it"),
        ("donation", "tax_policy", "知道一些", "heard_of_it"),
        ("donation", "tax_policy", "不是很了解", "heard_of_it"),
        ("donation", "tax_policy", "不太清楚", "heard_of_it"),
        ("membership", "how_members_work", "大概知道", "heard_of_it"),
        ("membership", "how_members_work", "不是很清楚", "heard_of_it"),
        ("humanitarian_aid", "main_problem", "服务态度好得很", ASK),
        # "All well, but…": the but is the answer.
        ("humanitarian_aid", "main_problem", "都挺好的，就是标准低了点", ASK),
        ("humanitarian_aid", "main_problem", "其他都挺好，就是等太久", "waiting_too_long"),
        ("humanitarian_aid", "main_problem", "工作人员很好，就是等太久", "waiting_too_long"),
        ("three_donations", "willingness", "愿意，但是怕疼", "willing"),  # only problem lists read the "but"
        # … but a good word about a wish says "this one" ("what else would help you?").
        ("humanitarian_aid", "other_services", "心理疏导挺好的", ["counselling"]),
        ("humanitarian_aid", "other_services", "需要心理疏导，政策引导也可以", ["counselling", "policy_guidance"]),
        # "没有解决好" is 没有解决, whatever 好 follows it.
        ("ticket_confirmation", "solved", "没有解决好", "not_solved"),
        # An apology before an answer is courtesy ("不好意思" is not scorn, and "2" not a no).
        ("volunteer", "overall", "不好意思，挺满意的", "good"),
        ("volunteer", "overall", "不好意思，一般吧", "average"),
        ("three_donations", "willingness", "2，不好意思", "unsure"),
        ("three_donations", "willingness", "2", "unsure"),
        # "都好" to a list of wishes is not "nothing needed" (it is, to a list of problems).
        ("humanitarian_aid", "other_services", "都好", ASK),
        ("humanitarian_aid", "main_problem", "都挺好", "none"),
        ("humanitarian_aid", "other_services", "都不需要", ["not_needed"]),
        # "Nothing else" beside a wish keeps the wish.
        ("humanitarian_aid", "other_services", "心理疏导，其他都不需要", ["counselling"]),
        ("humanitarian_aid", "other_services", "只要心理疏导，别的不需要", ["counselling"]),
        ("humanitarian_aid", "other_services", "陪伴，别的不用", ["care_companionship"]),
        # On a single choice a piece of one option's words beside another's "none" is not two picks.
        ("humanitarian_aid", "main_problem", "工作人员都挺好", "none"),
        # Everyday words for the options (their synonyms).
        ("donation", "unhappy_aspects", "捐款不方便", ["convenience"]),
        ("donation", "unhappy_aspects", "效率低", ["project_efficiency"]),
        ("donation", "unhappy_aspects", "没有反馈", ["feedback"]),
        ("humanitarian_aid", "main_problem", "服务态度不太好", "staff_attitude"),
        ("humanitarian_aid", "main_problem", "态度差", "staff_attitude"),
        ("donation", "tax_policy", "没听过", "unaware"),
        ("membership", "how_members_work", "熟悉", "know_well"),
        ("three_donations", "willingness", "再想想", "unsure"),
        # Worries in the donor's own words; a problem solved by half is not solved.
        ("three_donations", "main_worry", "怕对身体不好", "safety"),
        ("ticket_confirmation", "solved", "解决了一半", "not_solved"),
        ("ticket_confirmation", "solved", "问题还在", "not_solved"),
        # "Nothing else", said every way.
        ("humanitarian_aid", "other_services", "心理疏导，别的暂时不需要", ["counselling"]),
        ("humanitarian_aid", "other_services", "心理疏导吧，其他就不用了", ["counselling"]),
        # A problem's words with their own 不, then a good word about "everything else".
        ("donation", "unhappy_aspects", "反馈不够，其他都挺好", ASK),
        # On a single choice, a second option's words make it ambiguous, asked again.
        ("three_donations", "willingness", "可以考虑", ASK),
        ("donation", "tax_policy", "清楚一点", ASK),
        # The paperwork, as people complain of it.
        ("humanitarian_aid", "main_problem", "手续太麻烦了", "application_too_complex"),
        ("humanitarian_aid", "main_problem", "申请太麻烦了", "application_too_complex"),
        ("humanitarian_aid", "main_problem", "材料太多了", "application_too_complex"),
        # A yes or a no to "are you willing?" with a third, unsure option.
        ("three_donations", "willingness", "好的", "willing"),
        ("three_donations", "willingness", "是的", "willing"),
        ("three_donations", "willingness", "不了", "unwilling"),
        ("three_donations", "willingness", "看情况", "unsure"),
    ],
)
def test_default_flow_answers(flow: str, question: str, raw: str, expected: Any) -> None:
    parsed = parse_answer(FLOWS[flow].question(question), raw)
    if expected == ASK:
        assert not parsed.ok, f"{raw!r} recorded as {parsed.value!r}"
    else:
        assert parsed.ok and parsed.value == expected, f"{raw!r} read as {parsed}"
