"""Which free texts are opinions: reports count "opinions gathered" from this."""

import pytest

from flows.detect import says_nothing


@pytest.mark.parametrize(
    "text",
    ["没有", "没有。", "无", "没有意见", "没有其他意见了", "挺好的", "很满意，谢谢", "谢谢！", "👍", "１",
     "好的好的", "不知道", "no", "No, nothing to add.", "  ", "没有，挺好的"],
)  # fmt: skip
def test_replies_that_add_nothing(text: str) -> None:
    assert says_nothing(text)


@pytest.mark.parametrize(
    "text",
    ["希望多举办培训", "工作人员态度好", "我觉得捐款流程太复杂", "太慢了", "等了很久", "老人行动不便",
     "服务很好，希望下次早点通知", "you should call earlier", "the trainer was great", "没有人来看过我们",
     "挺好的，就是等太久了"],
)  # fmt: skip
def test_replies_that_say_something(text: str) -> None:
    assert not says_nothing(text)
