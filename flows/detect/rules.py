"""The built-in rules of free-text detection, as data.

Phrases are compared with the respondent's text after `flows.normalize.normalize` (NFKC,
lower case), so write them in that form: half-width punctuation, lower-case English.
At each place in a sentence the longest phrase wins ("没人管" before "没人", "能不能多" before
"能不能"), and a phrase consumes its characters, so a "none" phrase such as "人工呼吸" or
"态度很好" keeps the words inside it from being read as something else.

A phrase of complaint, help or suggestion right after a negator ("没有不满意", "不存在问题",
"不用打电话") counts as none; the negators are `NEGATORS` with `NEGATION_FILLERS` allowed in
between ("没有什么不满意的"). Phrases that carry their own negation ("没人管", "没收到") are
complaints as they stand, and a negator before them cancels them too ("不是没人管").

Patterns (`PATTERNS`) are regular expressions for what a list of phrases cannot say, tried
before the phrases at the same place; they must use only non-capturing groups.
"""

from __future__ import annotations

from flows.answers.lexicon import NEGATORS as _LEXICON_NEGATORS

COMPLAINT = "complaint"
HELP = "help"
SUGGESTION = "suggestion"
NONE = "none"
# Which kind wins when one message says several things: a grievance is never lost behind a
# polite suggestion ("希望你们别再拖了" is a complaint), and a question is answered even when
# it comes with an idea.
PRECEDENCE = (COMPLAINT, HELP, SUGGESTION, NONE)
ESCALATING = frozenset({COMPLAINT, HELP})


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


PHRASES: dict[str, tuple[str, ...]] = {
    COMPLAINT: _words(
        """
        不满意 不太满意 很不满意 非常不满意 不是很满意 不怎么满意 不大满意 不满 很失望 失望 差评
        太差 很差 差得很 差劲 体验很差 态度差 态度不好 态度恶劣 态度很差 不耐烦 爱理不理 不理人 没人理 不理我
        敷衍 踢皮球 推来推去 推诿 扯皮 不公平 不合理 不对头 不像话 恼火 烦死了 气人 气死 折腾 骗人 骗子
        乱收费 又收了 浪费时间 走过场 不靠谱 难听 不客气 凶我 怪我 挂电话 不解释 也没个解释 也没人解释
        没人管 莫得人管 没得人管 无人管 没有人管 有没有人管 没人接 没有人接 没人回 没有人回 没人回电话
        没人联系 没有人联系 再也没人 没人来 没人安排 没人给 莫得人 没得人 不说原因 理由都不给 不告诉我
        没有回复 没回复 没有反馈 没反馈 没有任何反馈 没有回音 没回音 没下文 没有下文 没消息 没有消息
        一点消息都没有 没个说法 没有说法 没个回话 没有答复 没给答复 没人解释 联系不上 打不通 一直占线
        还没到账 没到账 没收到 还没收到 没拿到 还没拿到 没发给 没发下来 还没发 还没下来 没下来 没批 还没批
        没录 没记上 没报 没退 没改 没落实 没安排 没通知 没有通知 没见到 没拨 没办成 办不成 没办好
        没开出来 没有收据 连个收据 写错了 是错的 被退回 退回来了 挪到 没跟我商量 取消了 迟到
        拖起 拖了 拖着 拖到 一直拖 拖拉 拖延 拖欠 拖了好久 别再拖 别拖了 不要再拖 不要拖了 别再让 不要再让 太慢 慢得很 好慢 太晚 来不及
        说好的 说好报销 答应的 答应帮 答应给 承诺的
        问题没解决 问题还没解决 问题都没解决 问题一直没解决 没解决 没有解决 还没解决 问题到现在
        有问题 存在问题 出了问题 出问题 投诉 举报 有虫 陈米 坏了 成摆设 根本来不及 练都练不成
        不晓得啥情况 不晓得干啥 不知道干啥 很乱 太挤 站都站不下 错过了 没扎进去
        没给 没给我 没人解决 登不进去 进不去 登不上
        没有收到 还没有收到 一直没有收到 至今没有收到 没有到账 还没有到账 没有拿到 没有领到 没领到 还没领到
        没有发下来 还没有发 无人接 无人接听 没有人接听 无人回复 无人联系 无人问津 没有人来
        有啥用 有什么用 有啥子用 石沉大海 杳无音信 傲慢 冷漠 刁难 弄丢 破的 破了 发霉 变质 白跑
        """
    )
    + (
        "not satisfied", "dissatisfied", "unhappy", "disappointed", "disappointing", "rude",
        "unacceptable", "terrible", "awful", "poor service", "too slow", "slowly", "complaint",
        "complain", "never came", "nobody came", "no one came", "never received", "not received",
        "haven't received", "have not received", "didn't receive", "did not receive",
        "still haven't", "still not", "still waiting", "never followed up", "barely",
        "promised", "ignored", "waste of time", "nobody ever", "no one ever", "sent me back",
        "broken", "too complicated", "lost my", "wrong", "never told", "wasn't told", "not told",
    ),
    HELP: _words(
        """
        什么时候 啥时候 啥子时候 几时 多久 哪天 哪里 在哪 在哪儿 去哪 去哪儿 去哪里 哪儿 找谁 找哪个 哪个对接
        哪些材料 需要什么 要什么 要啥 什么手续 啥子手续 啥子材料 什么材料 什么条件 要什么条件 什么证件
        是多少 标准是多少 流程是什么 怎么申请 如何申请 怎么办 咋办 咋个办 咋整 怎么弄 咋个弄 怎么操作
        怎么查 怎么报名 咋个报名 怎么交 怎么补办 怎么复训 怎么办理 怎么成为 怎么填 咋个填 怎么登记
        能不能 可不可以 能否 可以吗 能吗 有没有
        帮我 帮忙 帮个忙 帮一下 帮我们 麻烦给 麻烦帮 麻烦告诉 麻烦联系 请问 请给 请帮 请发 请告诉 请联系
        请让 请打 请提前 想了解 了解一下 想知道 想问 想咨询 咨询一下 问一下 告诉我 发我 发给我 给我一份
        通知我 寄给我 查一下 看下 看一下 申请进度 派个人 派人 派两个 派老师
        回电话 回个电话 打电话给我 给我打电话 给我打个电话 打个电话 联系我 联系一下我 跟我联系 和我联系
        人工 转人工 人工客服 找工作人员 找个人 找人问 真人 找负责人 找领导
        搞不懂 搞不醒豁 搞不清楚 弄不明白 不会弄 不会用 看不懂 不晓得咋个 不知道怎么 不知道去哪
        不知道参与方式 想申请 我想申请 想报名 想登记 想参加 想当 想加入 想成立 想定向 想办 想再看
        可以申请 能申请 能取消 续费 到期了 联系谁 找谁 问谁 哪个部门 哪个单位 哪位 哪家 问问 想找
        不够看病 看不起病 看不起 没钱看病 没钱治病 没钱吃饭 交不起 付不起 吃不上饭 揭不开锅 生活困难
        生活很困难 生活太困难 生活比较困难 生活有困难 家里困难 家庭困难 经济困难 负担不起 吃不起药
        住不起院 看病的钱不够 生活艰难 生活很艰难 日子难过 过不下去 活不下去
        """
    )
    + (
        "how do i", "how can i", "how to", "where can i", "where do i", "when will", "when can",
        "can you", "could you", "could someone", "can someone", "please call", "call me",
        "call me back", "contact me", "get in touch", "i want to join", "who should i",
        "is there", "what do i need", "i need help", "help me", "talk to", "real person",
        "human", "agent", "send me", "who do i", "who should", "who can", "where should",
        "what should i", "is it possible",
    ),
    SUGGESTION: _words(
        """
        建议 希望 最好 最好能 可以多 多搞点 多搞 多开展 多组织 多宣传 宣传一下 多设 多配 多给 多一些 多一点
        再多一些 再多一点 多讲讲 多进 多下 多培养 多投入 多开 多练 加强 有待提高 有待加强 需要优化 还需要
        应该 如果能 能不能多 可不可以多 能否多 能不能再多 太少 较少 偏少 少了点 不够 还不够 缺乏 缺少 还是缺
        太短 较短 陈旧 太老 更新一下 简化 简单点 简单一些 方便一些 可以更 可以做 可以建 可以给 可以印
        可以不用 可以再 提高 提升 扩大 增加 延长 完善 改进 优化 长效机制 一阵风 紧紧围绕 广泛听取 合作 纳入
        补充 丰富 交流 分老年人班 更丰富 不方便 意见和建议 意见建议 意见或建议
        会更 更好 更加 好很多 就好了 效果更好 建个 搞个 设个 配个
        短了点 短了一点 慢了点 慢了一点 小了点 远了点 贵了点 少了一点
        """
    )
    + (
        "suggest", "suggestion", "it would be better", "would be better if", "would be nice",
        "recommend", "maybe you could", "you could", "you should", "should have more",
        "more hands-on", "more practice", "i hope", "need more", "needs more", "would be good",
        "would reassure", "would help", "could be", "should be", "more information", "perhaps",
        "maybe", "partner with", "how about",
    ),
    # Never escalate: what people say when all is well or they have nothing to add, and words
    # that merely contain a phrase of another kind ("人工呼吸" holds 人工, "态度很好" 态度).
    NONE: _words(
        """
        没问题 没有问题 没什么问题 没啥问题 没得问题 莫得问题 没得啥子问题 没有啥问题 不存在问题 没有太大问题
        没什么大问题 没啥子问题 没有困难 没有太大困难 都解决了 已经解决 已解决 处理好了 解决了
        困难补助 生活困难补助 困难救助
        没意见 没有意见 无意见 莫得意见 没得意见 没得啥子意见 没什么意见 没有什么意见 没有建议 没什么建议
        没啥子建议 没有其他 没有别的 没有了 暂时没有 没有补充 没有什么补充 都挺好 挺好 很好 满意 巴适 安逸
        撇脱 要得 谢谢 感谢 态度很好 态度好 服务周到 人工呼吸 人工智能 没有顾虑 没什么顾虑 不需要帮助
        收到了 已经收到 一切都好 一切顺利 还可以 都可以 也可以 可以的
        不知道怎么说 不知道说什么 不晓得说啥 不晓得咋个说 不知道说啥
        """
    )
    + (
        "no complaints", "no complaint", "nothing to add", "nothing more", "all good",
        "everything was fine", "everything is fine", "thank you", "thanks", "no need",
        "don't need", "do not need", "thanks for calling", "humanitarian",
    ),
}

PATTERNS: dict[str, tuple[str, ...]] = {
    COMPLAINT: (
        # "到现在都没录进系统", "至今未收到": something still not done
        r"(?:到现在|至今|到今天|到今年)[^,.!?;。、]{0,6}(?:没|未|莫得)(?!什么|啥|有问题|问题)",
        r"一直没(?!什么|啥|有问题|问题|出过|人)",
        r"(?:已经|都|现在)[^,.!?;。、]{0,3}(?:[一二三四五六七八九十两几半]|\d+)+个?多?(?:月|年|星期|礼拜)了",
        r"(?:跑|打|问|催)了(?:[一二三四五六七八九十两几好]+)(?:趟|次|回|遍)",
        r"no(?:body| one)(?: has| have|'s)? (?:ever )?(?:called|contacted|followed|came|come|replied|answered|got back|refunded|fixed|helped|told|explained)",
        r"(?:two|three|four|five|several|many) times",
        r"not (?:very |really |too |entirely )?(?:satisfied|happy)",
        # "开错", "贴错了": done wrongly
        r"[开贴写弄搞填发算记登录打印报寄]错",
        # "打不进去", "查不到", "联系不上": tried and failed
        r"(?:查|打|找|领|拿|联系|登|挤|办|问|进)不(?:到|进去|进|通|上)",
        # "凭什么不给", "为啥子没有我们": a grievance asked as a question
        r"(?:为什么|为啥子?|凭什么)[^,.!?;。、]{0,12}(?:不|没)",
        r"(?:still )?(?:hasn't|haven't|has not|have not|didn't|did not|never|wasn't) (?:been |yet )?(?:arrived|received|come|told|paid|refunded|fixed|answered|called|contacted|replied|heard)",
        # "都说不归他们管": passed from one office to the next
        r"不归[^,.!?;。、]{0,4}管",
    ),
    HELP: (
        # A question put as "可以…吗" / "能…吗": a request, even when it names no verb we know
        r"(?:可以|能)[^,.!?;。、]{0,12}吗",
        # "要怎么变更", "咋个弄": how, whatever the verb ("怎么样" is an opinion)
        r"(?:怎么|咋个|咋|如何)(?!样|说呢|还|会这样)",
        # "麻烦让社区来一趟": a polite request ("麻烦了" is only thanks)
        r"麻烦(?!了|你们了|您了|死了)",
    ),
    SUGGESTION: (
        r"要是[^,.!?;。]{1,20}就(?:好|安逸|巴适|方便)",
        r"再[^,.!?;。、]{1,3}一?[点些]",
        r"[大多快长早细][一]?[点些](?![儿]?[吗?了])",
        # "可以请家属来讲", "可以换点礼品": a proposal ("还可以", "都可以" are none)
        r"可以(?=[\u4e00-\u9fff])(?!吗|不|了|的|啊|呀|哈)",
    ),
    NONE: (),
}

# A message that is only a question ("这个呢？") asks for something even without a known phrase.
QUESTION_ENDINGS = ("?", "吗")
# Sichuan and colloquial questions end in a bare 不 or 没有: "还能再申请一次不", "定了没有".
QUESTION_TAIL = r"(?:[^都也并还就我你他她]不|了没有?|有[^,.!?;。、]{1,8}没有?)$"

NEGATORS: frozenset[str] = _LEXICON_NEGATORS | frozenset(
    "不是 不存在 不用 不需要 无需 别 并没 没啥 没得啥子 莫得啥子 没有什么 没什么 毫无".split()
)
# Words that may stand between a negator and what it negates: "没有什么不满意", "没有太大的问题".
NEGATION_FILLERS: frozenset[str] = frozenset(
    "人 什么 啥子 啥 任何 太大的 太大 多大的 多大 很大的 很大 大的 其他的 其他 别的 特别的 特别 太多 多少 再 要 过 的".split()
)
# A negation reaches over "和" to the next noun: "没有什么意见和建议", "没有问题或困难".
COORDINATED_NOUNS: frozenset[str] = frozenset("意见 问题 困难 想法 要求 顾虑 补充".split())
CONJUNCTIONS: frozenset[str] = frozenset("和 或 或者 及 跟 与".split())
ENGLISH_NEGATION = r"(?:\b(?:not|no|never|without|nothing)\b|n't)(?:\s+[\w']+){0,2}\s*$"

# Asking for a person: the phrases, and what merely contains them.
HUMAN: dict[str, tuple[str, ...]] = {
    "human": _words(
        """
        人工 转人工 人工客服 真人 找工作人员 找个工作人员 找人工 找负责人 找领导 找个人 找你们的人 客服
        我要投诉 要投诉 投诉 打电话给我 给我打电话 给我打个电话 回电话 回个电话 联系我 跟我联系 和我联系
        来电话
        """
    )
    + (
        "human", "agent", "real person", "operator", "talk to someone", "talk to a person",
        "speak to someone", "call me", "contact me",
    ),
    NONE: _words("人工呼吸 人工智能 人工授精") + ("humanitarian",),
}
