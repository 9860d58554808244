"""The nine default follow-up surveys (flows/defaults/*.yaml), checked as a respondent meets them.

The questions and answer options come from the Chengdu Red Cross 2022 follow-up campaign
(成红《四川省成都市红十字会开展集中回访调研工作实践与思考》); ARTICLE_QUESTIONS below pins each
flow to that article so an edit that drifts from it fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from flows import schema
from flows.schema import END, Flow, Question

# Found through the schema module, not `flows.__file__`: pytest puts tests/ on sys.path, where
# this folder (tests/flows, no __init__.py) can make `flows` a namespace package with no file.
DEFAULTS_DIR = Path(schema.__file__).parent / "defaults"

CATEGORIES = {
    "donation": "公益捐赠",
    "humanitarian_aid": "人道救助",
    "first_aid_training": "救护培训",
    "volunteer": "志愿服务",
    "membership": "会员发展",
    "three_donations": "三献捐献",
    "first_aid_post": "应急救护服务阵地",
    "grassroots": "红十字基层组织",
    "expert_adviser": "专家顾问",
}

GOOD_BAD = ["非常好", "好", "一般", "不好"]
SATISFIED_3 = ["非常满意", "满意", "不太满意"]

# (flow, question id) → (type, the article's answer options in the article's order).
# Types follow the article's figures: shares adding up to more than 100% mean several answers
# (multi_choice); shares adding up to exactly 100% mean one answer each (single_choice).
# Options the flows add (其他 where the article reports it, 没有明显问题 …) may follow these.
ARTICLE_QUESTIONS: dict[tuple[str, str], tuple[str, list[str]]] = {
    ("donation", "satisfaction"): ("rating", ["非常满意", "满意", "一般", "不满意"]),
    ("donation", "tax_policy"): ("single_choice", ["了解", "听说过但不是很了解", "完全不了解"]),
    ("donation", "after_gift_concerns"): (
        "multi_choice",
        ["捐赠资金是否及时使用", "能否得到捐赠凭证", "能否收到受赠组织或受助群众的感谢"],
    ),
    ("humanitarian_aid", "overall"): ("rating", GOOD_BAD),
    ("humanitarian_aid", "main_problem"): (
        "single_choice",
        ["救助标准有待提高", "申请资料过于复杂", "等待时间过长", "工作人员服务意识有待提高"],
    ),
    ("humanitarian_aid", "other_services"): (
        "multi_choice",
        ["心理疏导", "政策引导", "关怀陪伴", "社会融入"],
    ),
    ("first_aid_training", "arrangement"): ("rating", SATISFIED_3),
    ("first_aid_training", "content"): ("rating", SATISFIED_3),
    ("first_aid_training", "teaching_attitude"): ("rating", SATISFIED_3),
    ("first_aid_training", "learning_effect"): ("rating", SATISFIED_3),
    ("first_aid_training", "unhappy_part"): ("single_choice", ["实操练习", "讲授", "示范讲解", "其他"]),
    ("volunteer", "overall"): ("rating", GOOD_BAD),
    ("volunteer", "main_problem"): (
        "single_choice",
        ["不知道参与方式", "活动时间与工作时间冲突", "缺乏活动经费和装备", "表彰奖励较少"],
    ),
    ("membership", "overall"): ("rating", GOOD_BAD),
    ("membership", "how_members_work"): (
        "single_choice",
        ["非常了解", "听说过但不是很了解", "完全不清楚"],
    ),
    ("membership", "main_problem"): ("single_choice", ["活动较少", "联络较弱", "宣传不够"]),
    ("three_donations", "overall"): ("rating", GOOD_BAD),
    ("three_donations", "willingness"): ("single_choice", ["愿意", "不确定", "不愿意"]),
    ("three_donations", "main_worry"): (
        "single_choice",
        ["担心安全问题", "参与不方便", "对三献不了解"],
    ),
    ("three_donations", "main_problem"): ("single_choice", ["宣传不够", "活动不够丰富", "登记不便"]),
    ("first_aid_post", "operation"): ("rating", ["运行良好", "运行一般"]),
    ("first_aid_post", "main_difficulty"): (
        "single_choice",
        ["培训装备不够", "经费缺乏", "师资力量缺少"],
    ),
    ("grassroots", "work_effect"): ("rating", GOOD_BAD),
    ("grassroots", "main_problem"): ("single_choice", ["经费缺乏", "培训和指导不够", "政策宣传不够"]),
    ("expert_adviser", "bridging_role"): (
        "single_choice",
        [
            "大力开展志愿宣传普及提升救护救援能力",
            "紧紧围绕党委政府中心开展工作",
            "多下基层调研了解助力解决困难问题",
            "提升人道救助质量",
        ],
    ),
    ("expert_adviser", "follow_up_work"): (
        "single_choice",
        ["广泛听取意见建议解决群众困难", "优化回访工作机制", "扩大回访工作面"],
    ),
}

CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBERED_LINE = re.compile(r"^\s*\d+\s*[.．、)）]", re.MULTILINE)
PUNCTUATION = re.compile(r"[\s，,、。“”\"'‘’：:；;！!？?（）()]")


def _plain(text: str) -> str:
    return PUNCTUATION.sub("", text).casefold()


def _load(path: Path) -> Flow:
    return Flow.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def default_flows() -> dict[str, Flow]:
    return {path.stem: _load(path) for path in sorted(DEFAULTS_DIR.glob("*.yaml"))}


def _all_flows() -> list[Flow]:
    return [_load(DEFAULTS_DIR / f"{code}.yaml") for code in CATEGORIES]


each_flow = pytest.mark.parametrize("flow", _all_flows(), ids=list(CATEGORIES))


# -- where a respondent can go -------------------------------------------------------------


def _next_targets(flow: Flow, index: int) -> list[tuple[str, Question | None]]:
    """(target, branch condition's question) for every move out of questions[index]."""
    q = flow.questions[index]
    following = flow.questions[index + 1].id if index + 1 < len(flow.questions) else END
    if q.next is None:
        return [(following, None)]
    if isinstance(q.next, str):
        return [(q.next, None)]
    out = [(b.goto, b.when) for b in q.next]
    if all(b.when is not None for b in q.next):
        out.append((following, None))
    return out


def _paths(flow: Flow) -> list[list[str]]:
    """Every sequence of questions a respondent could be asked, ignoring which answers lead where."""
    index = {q.id: i for i, q in enumerate(flow.questions)}
    done: list[list[str]] = []

    def walk(path: list[str]) -> None:
        here = path[-1]
        for target, when in _next_targets(flow, index[here]):
            if when is not None:
                assert when.question in path, (
                    f"{flow.id}: '{here}' branches on '{when.question}', not yet asked on {path}"
                )
            if target == END:
                done.append(path)
                continue
            assert target not in path, f"{flow.id}: cycle {[*path, target]}"
            walk([*path, target])

    walk([flow.questions[0].id])
    return done


def _walk(flow: Flow, answers: dict[str, str]) -> list[str]:
    """The questions one respondent sees, given their choice answers (others: first option)."""
    index = {q.id: i for i, q in enumerate(flow.questions)}
    given: dict[str, str | None] = {}
    seen: list[str] = []
    here = flow.questions[0].id
    while here != END:
        assert here not in seen, f"{flow.id}: loop at {here}"
        seen.append(here)
        q = flow.question(here)
        given[here] = answers.get(here, q.options[0].code if q.options else None)
        for target, when in _next_targets(flow, index[here]):  # noqa: B007 — used after the loop
            if when is None:
                break
            assert when.min is None and when.max is None and when.answered is None, (
                "this walker only understands any_of / none_of"
            )
            value = given.get(when.question)
            if when.any_of is not None and value not in when.any_of:
                continue
            if when.none_of is not None and value in when.none_of:
                continue
            break
        here = target
    return seen


# -- the nine categories -------------------------------------------------------------------


def test_exactly_the_nine_categories(default_flows: dict[str, Flow]) -> None:
    assert set(default_flows) == set(CATEGORIES)
    for code, flow in default_flows.items():
        assert flow.id == code
        assert flow.category.code == code
        assert flow.category.name.zh == CATEGORIES[code]
        assert flow.version == 1


def test_aliases_name_one_group_each(default_flows: dict[str, Flow]) -> None:
    owner: dict[str, str] = {}
    for code, flow in default_flows.items():
        names = [flow.category.name.zh, flow.category.name.en, *flow.category.aliases]
        assert any(CJK.search(a) for a in flow.category.aliases), f"{code}: no Chinese alias"
        assert any(not CJK.search(a) for a in flow.category.aliases), f"{code}: no English alias"
        for name in names:
            key = name.casefold()
            assert owner.setdefault(key, code) == code, f"'{name}' names both {owner[key]} and {code}"
    assert owner["受助者"] == owner["aid recipient"] == "humanitarian_aid"
    assert owner["献血者"] == "three_donations"
    assert owner["志愿者"] == "volunteer"


# -- the questions follow the article ------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"), ARTICLE_QUESTIONS.items(), ids=[f"{f}.{q}" for f, q in ARTICLE_QUESTIONS]
)
def test_article_questions_and_options(
    default_flows: dict[str, Flow], key: tuple[str, str], expected: tuple[str, list[str]]
) -> None:
    flow_id, qid = key
    qtype, article_labels = expected
    q = default_flows[flow_id].question(qid)
    assert q.type == qtype
    labels = [_plain(o.label.zh) for o in q.options]
    assert labels[: len(article_labels)] == [_plain(a) for a in article_labels]


def test_multiple_choice_where_the_article_has_it(default_flows: dict[str, Flow]) -> None:
    article_multi = {f for (f, _), (t, _) in ARTICLE_QUESTIONS.items() if t == "multi_choice"}
    assert article_multi == {"donation", "humanitarian_aid"}
    for flow_id in article_multi:
        assert any(q.type == "multi_choice" for q in default_flows[flow_id].questions), flow_id


@each_flow
def test_ratings_score_higher_for_better(flow: Flow) -> None:
    for q in flow.questions:
        if q.type == "rating":
            scores = [o.score for o in q.options]
            assert scores == list(range(len(scores), 0, -1)), f"{flow.id}.{q.id}: {scores}"


# -- the path a respondent takes -----------------------------------------------------------


@each_flow
def test_every_reference_exists(flow: Flow) -> None:
    ids = {q.id for q in flow.questions}
    for q in flow.questions:
        branches = q.next if isinstance(q.next, list) else []
        targets = [q.next] if isinstance(q.next, str) else [b.goto for b in branches]
        for target in targets:
            assert target in ids or target == END, f"{flow.id}.{q.id}: goto unknown '{target}'"
        for b in branches:
            if b.when is None:
                continue
            assert b.when.question in ids, f"{flow.id}.{q.id}: when on unknown '{b.when.question}'"
            codes = {o.code for o in flow.question(b.when.question).options}
            for code in [*(b.when.any_of or []), *(b.when.none_of or [])]:
                assert code in codes, f"{flow.id}.{q.id}: '{b.when.question}' has no option '{code}'"
        if branches:
            assert branches[-1].when is None, f"{flow.id}.{q.id}: the last branch must be the fallback"
            assert all(b.when is not None for b in branches[:-1]), f"{flow.id}.{q.id}: early fallback"
        if q.escalate is not None:
            assert q.escalate.queue == flow.id
            codes = {o.code for o in q.options}
            assert set(q.escalate.on_options) <= codes, f"{flow.id}.{q.id}: escalates on unknown option"


@each_flow
def test_every_question_can_be_reached(flow: Flow) -> None:
    reached = {qid for path in _paths(flow) for qid in path}
    assert reached == {q.id for q in flow.questions}


@each_flow
def test_a_respondent_sees_three_to_six_questions(flow: Flow) -> None:
    for path in _paths(flow):
        assert 3 <= len(path) <= 6, f"{flow.id}: {path}"


@each_flow
def test_every_path_ends_with_the_optional_opinion_question(flow: Flow) -> None:
    for path in _paths(flow):
        last = flow.question(path[-1])
        assert last.type == "text" and last.optional, f"{flow.id}: ends with {last.id}"
        assert last.max_length == 1000
        assert last.escalate is not None and last.escalate.on_text
        assert last.escalate.queue == flow.id


@each_flow
def test_negative_ratings_escalate_and_ask_a_follow_up(flow: Flow) -> None:
    ratings = [q for q in flow.questions if q.type == "rating"]
    if flow.id == "expert_adviser":
        assert not ratings  # the article asks experts for advice, not a rating
        return
    assert ratings
    best = {q.id: max(q.options, key=lambda o: o.score).code for q in ratings}
    content = _walk(flow, best)
    for q in ratings:
        rule = q.escalate
        assert rule is not None and rule.queue == flow.id and rule.priority == "normal"
        worst = min(q.options, key=lambda o: o.score).code
        assert worst in rule.on_options and best[q.id] not in rule.on_options
        for option in q.options:
            path = _walk(flow, {**best, q.id: option.code})
            extra = [qid for qid in path if qid not in content]
            if option.code not in rule.on_options:
                assert not extra, f"{flow.id}: {q.id}={option.code} is not negative, yet adds {extra}"
                continue
            # A negative answer escalates and is followed by exactly one question about it.
            assert len(extra) == 1, f"{flow.id}: {q.id}={option.code} adds {extra}"
            follow_up = flow.question(extra[0])
            assert follow_up.type in ("single_choice", "multi_choice") or (
                follow_up.type == "text" and follow_up.optional
            )


def test_unhappy_trainees_are_asked_which_part(default_flows: dict[str, Flow]) -> None:
    flow = default_flows["first_aid_training"]
    aspects = ("arrangement", "content", "teaching_attitude", "learning_effect")
    happy = _walk(flow, {q: "satisfied" for q in aspects})
    assert "unhappy_part" not in happy
    unhappy = _walk(flow, {"arrangement": "satisfied", "content": "not_satisfied"})
    assert unhappy[-2:] == ["unhappy_part", "opinion"]


# -- what a respondent reads ---------------------------------------------------------------


def _texts(value: object, where: str = "") -> list[tuple[str, dict[str, str]]]:
    if isinstance(value, dict):
        if set(value) == {"zh", "en"}:
            return [(where, value)]  # type: ignore[list-item]
        return [t for k, v in value.items() for t in _texts(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in _texts(v, f"{where}[{i}]")]
    return []


@each_flow
def test_every_text_in_chinese_and_english(flow: Flow) -> None:
    texts = _texts(flow.model_dump())
    assert len(texts) > 10
    for where, text in texts:
        assert CJK.search(text["zh"]), f"{flow.id}{where}: zh has no Chinese: {text['zh']!r}"
        assert not CJK.search(text["en"]), f"{flow.id}{where}: en has Chinese: {text['en']!r}"


@each_flow
def test_prompts_leave_the_option_list_to_the_engine(flow: Flow) -> None:
    for q in flow.questions:
        for text in (q.prompt.zh, q.prompt.en):
            assert not NUMBERED_LINE.search(text), f"{flow.id}.{q.id}: numbered list in prompt"
            assert "\n" not in text.strip(), f"{flow.id}.{q.id}: keep prompts to one line"


@each_flow
def test_each_answer_word_means_one_option(flow: Flow) -> None:
    for q in flow.questions:
        owner: dict[str, str] = {}
        for o in q.options:
            for word in {o.label.zh, o.label.en, *o.synonyms}:
                key = word.strip().casefold()
                assert not key.isdigit(), f"{flow.id}.{q.id}: '{word}' would read as an option number"
                assert owner.setdefault(key, o.code) == o.code, (
                    f"{flow.id}.{q.id}: '{word}' means both {owner[key]} and {o.code}"
                )


@each_flow
def test_greeting_consent_and_goodbyes(flow: Flow) -> None:
    assert "红十字会" in flow.intro.zh and "回访" in flow.intro.zh and "Red Cross" in flow.intro.en
    assert flow.consent.zh.endswith("？") and flow.consent.en.endswith("?")
    assert "谢" in flow.declined.zh and "Thank" in flow.declined.en
    assert "谢" in flow.closing.zh and "工作人员" in flow.closing.zh and "staff" in flow.closing.en
