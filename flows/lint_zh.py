"""The loader's and linter's messages in Chinese, for the console's editor and for `huifang
flows validate` (Chinese first, then the English). Matched by pattern, so a new English
message without a pattern here still shows, under a general Chinese heading."""

from __future__ import annotations

import re

from flows.source import FlowError

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), zh)
    for p, zh in (
        (r"^duplicate question id '(.+)'", r"问题编号“\1”重复"),
        (r"^'end' is reserved", "“end”是保留字，表示问卷结束"),
        (r"^duplicate option code '(.+)'", r"选项代码“\1”重复"),
        (r"^unknown option '(.+)'", r"没有选项“\1”"),
        (r"^a (\w+) question has no options", r"\1 类型的问题没有选项"),
        (r"^placeholder \{(.+)\} is filled only", r"占位符 {\1} 只能用于 followup 流程"),
        (r"^unknown message '(.+?)'", r"没有这条系统消息“\1”"),
        (r"^unknown question '(.+)'", r"没有问题“\1”"),
        (r"^'(.+)' has no option '(.+)'", r"问题“\1”没有选项“\2”"),
        (r"^'(.+)' is asked later", r"问题“\1”在后面才问，此时还没有答案"),
        (r"^never taken", "这个分支永远不会走到：前面有一个没有 when 的分支"),
        (r"^question '(.+)' can never be reached", r"问题“\1”永远不会被问到"),
        (r"^cycle: (.+) \(", r"流程有循环：\1"),
        (r"^duplicate key", "键重复"),
        (r"^larger than (\d+) KiB", r"文件超过 \1 KiB"),
        (r"^not valid YAML/JSON", "不是有效的 YAML/JSON"),
        (r"^the file is empty", "文件是空的"),
        (r"^a flow file must be a mapping", "流程文件必须是键值映射（id、version……）"),
        (r"^missing translation \((\w+)\)", r"缺少翻译（\1）"),
        (r"^required but missing", "必填项缺失"),
        (r"^unknown field", "未知字段"),
        (r"^Input should be a valid integer", "应为整数"),
        (r"^Input should be a valid string", "应为文本"),
        (r"^Input should be a valid number", "应为数字"),
        (r"^Input should be a valid (list|array)", "应为列表"),
        (r"^Input should be a valid (dictionary|mapping)", "应为键值映射"),
        (r"^Input should be (.+)", r"取值应为 \1"),
        (r"^String should match pattern", "格式不对（只能用小写字母、数字和下划线，以字母开头）"),
        (r"^String should have at most (\d+) characters?", r"最多 \1 个字符"),
        (r"^String should have at least (\d+) characters?", r"至少 \1 个字符"),
        (r"^List should have at least (\d+) items?", r"至少要有 \1 项"),
        (r"^(.+) should be greater than or equal to (.+)", r"应不小于 \2"),
        (r"^found character '\\t'", "不能用制表符缩进，请用空格"),
        (r"^mapping values are not allowed here", "这里不能写“键: 值”（缩进或冒号有误）"),
        (r"^found duplicate anchor|^found undefined alias", "YAML 锚点或别名有误"),
        (r"^expected .*(block end|<block end>)", "缩进有误"),
        (r"^could not find expected ':'", "缺少冒号“:”"),
        (r"^found unexpected end of stream", "文件意外结束（引号或括号未闭合）"),
        (r"^did not find expected", "语法有误（括号、引号或缩进）"),
    )
]


def zh_message(message: str) -> str:
    """The Chinese for one of the loader's or linter's messages."""
    for pattern, zh in _PATTERNS:
        found = pattern.search(message)
        if found:
            return found.expand(zh)
    return "流程文件有误"


def bilingual(error: FlowError) -> str:
    """`file:line: path: 中文 English`, as the command line prints an error."""
    where = f"{error.file}:{error.line}" if error.line else error.file
    said = f"{zh_message(error.message)} {error.message}"
    return f"{where}: {error.path}: {said}" if error.path else f"{where}: {said}"
