"""The engine's own words (hints, confirmations, notices), zh-CN first.

A flow may override any of them under `messages:`; `flows.lint` rejects unknown keys.
Placeholders in braces are filled by `flows.render`.
"""

from __future__ import annotations

from flows.schema import Flow, I18nText


def _t(zh: str, en: str) -> I18nText:
    return I18nText(zh=zh, en=en)


DEFAULTS: dict[str, I18nText] = {
    "consent_hint": _t("请回复“1”或“好的”开始，回复“2”或“不用了”结束。", 'Reply "1" or "yes" to begin, "2" or "no" to stop here.'),
    "consent_yes": _t("好的", "Yes"),
    "consent_no": _t("不用了", "No, thanks"),
    "stop_yes": _t("确定退订", "Yes, unsubscribe"),
    "stop_no": _t("继续答题", "No, continue"),
    "resume_continue": _t("接着上次继续", "Continue where I left off"),
    "resume_restart": _t("重新开始", "Start again"),
    "choose_one": _t("请回复一个数字，例如：1", "Reply with one number, e.g. 1"),
    "choose_many": _t("可以多选，例如：1、3", "You may choose several, e.g. 1, 3"),
    "choose_yes_no": _t("请回复“是”或“否”", 'Reply "yes" or "no"'),
    "nps_range": _t("请回复 0 到 10 之间的一个数字，10 表示非常愿意。", "Reply with a number from 0 to 10; 10 means very likely."),
    "number_range": _t("请回复 {min} 到 {max} 之间的数字。", "Reply with a number from {min} to {max}."),
    "number_any": _t("请回复一个数字。", "Reply with a number."),
    "text_free": _t("请直接输入您的回答。", "Type your answer."),
    "optional_note": _t("（可回复“跳过”）", '(reply "skip" to skip)'),
    "not_understood": _t("抱歉，没能看懂您的回答。", "Sorry, I did not understand that."),
    "later_invite": _t("好的，不打扰您了。您方便的时候，回复“1”就可以开始。", 'All right, we will not disturb you now. Reply "1" whenever it suits you to begin.'),
    "later_survey": _t("好的，不着急。您方便的时候直接回复，就可以接着答这一题。", "All right, no hurry. Reply whenever it suits you to carry on with this question."),
    "too_many": _t("最多可以选 {max} 项。", "You can choose at most {max}."),
    "too_few": _t("请至少选 {min} 项。", "Please choose at least {min}."),
    "ambiguous": _t("这一题只能选一项。", "Please choose just one option."),
    "ambiguous_many": _t("没能确定您选的是哪几项，请用顿号隔开，例如：1、3", "I could not tell which options you meant; separate them with commas, e.g. 1, 3"),
    "too_short": _t("请多写几个字（至少 {min} 个字）。", "Please write a little more (at least {min} characters)."),
    "too_long": _t("回答太长了，请控制在 {max} 个字以内。", "That is too long; please keep it within {max} characters."),
    "out_of_range": _t("数字需要在 {min} 到 {max} 之间。", "The number must be between {min} and {max}."),
    "unsupported": _t("抱歉，暂时只能识别文字，请用文字回复。", "Sorry, I can only read text for now; please reply in words."),
    "moving_on": _t("没关系，我们先看下一题。", "No problem, let's go on to the next question."),
    "help": _t(
        "回复选项前的数字即可，例如“1”；多选题可回复“1、3”。\n回复“跳过”跳过选答题，“重新开始”从头再来，“退订”不再接收消息。",
        'Reply with the number of an option, e.g. "1"; for several, "1, 3".\n"skip" skips an optional question, "restart" starts over, "stop" unsubscribes.',
    ),
    "skip_not_allowed": _t("这一题需要您回答一下，谢谢。", "This question needs an answer, thank you."),
    "confirm_stop": _t(
        "您确定要退订吗？退订后我们不会再给您发消息。\n1. 确定退订\n2. 继续答题",
        "Are you sure you want to unsubscribe? We will not message you again.\n1. Yes, unsubscribe\n2. No, continue",
    ),
    "opted_out": _t("已为您退订，不会再给您发消息。感谢您对红十字事业的支持！", "You are unsubscribed and will not hear from us again. Thank you for supporting the Red Cross!"),
    "stop_cancelled": _t("好的，我们继续。", "Good, let's continue."),
    "welcome_back": _t(
        "欢迎回来！上次的问卷还没有答完。\n1. 接着上次继续\n2. 重新开始",
        "Welcome back! Your survey is not finished yet.\n1. Continue where you left off\n2. Start again",
    ),
    "restarted": _t("好的，我们从头开始。", "All right, let's start from the beginning."),
    "already_done": _t("本次回访已经结束，谢谢您！如有其他问题，请直接留言。", "This follow-up has ended, thank you! Leave a message if there is anything else."),
    "expired": _t("上次的问卷已经过期，我们重新开始。", "Your previous survey has expired; let's start a new one."),
}


def text(flow: Flow | None, key: str, lang: str, **values: object) -> str:
    custom = flow.messages.get(key) if flow is not None else None
    template = (custom or DEFAULTS[key]).get(lang)
    return template.format(**values) if values else template
