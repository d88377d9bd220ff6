"""The demo's messages in Chinese: each :class:`~poetry_rnn.errors.PoetryError` the page can
show, found by its English words (the library and its command lines speak English).

Every message the page can meet has its row; :func:`in_chinese` gives any other in a Chinese
frame and logs it, so that a new message shows up in the server's log rather than in English
alone on the page (``tests/test_demo_answers.py`` asks each for its Chinese).
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("poetry_rnn.app.demo")

#: How the messages name the user's texts.
TEXTS = {"start": "开头", "acrostic": "藏头字", "theme": "主题", "style": "风格", "free": "风格",
         "poem": "诗"}  # fmt: skip
_TEXT = f"(?P<text>{'|'.join(TEXTS)})"
_VALUE = "(?P<value>.+)"
_WHICH = "(?P<which>上联|下联)"

#: (a pattern of the whole English message, its Chinese). ``{text}`` is the text named in
#: Chinese, ``{forms}`` a list of forms joined by 、, any other field the group as matched.
MESSAGES: tuple[tuple[str, str], ...] = (
    # the writing tab: the user's text
    (f"the {_TEXT} is empty", "{text}是空的，请先填写"),
    (f"the {_TEXT} is too long: at most (?P<n>\\d+) characters", "{text}太长了：最多 {n} 个字"),
    (f"the {_TEXT}(?: text)? must be text, got \\w+", "{text}必须是文字"),
    (f"the {_TEXT} has characters that are not Han characters: {_VALUE}",
     "{text}里有不是汉字的字符：{value}"),
    (f"the {_TEXT} has characters the model does not know: {_VALUE}",
     "模型不认识{text}里的这些字：{value}"),
    ("the start has no Han characters", "开头里没有汉字"),
    ("the start begins with (?P<mark>.): a mark may only end a line",
     "开头不能以「{mark}」开始：标点只能放在句末"),
    ("the start has two marks in a row: one mark ends a line",
     "开头有两个连在一起的标点：一句末尾只用一个"),
    ("the start's first line has (?P<n>\\d+) characters, but the lines of a regulated poem have "
     "5 or 7 \\(the form 'free' takes any length\\)",
     "开头第一句有 {n} 个字，格律诗每句五字或七字（体裁选「不限字数」则不限）"),
    ("the start's line (?P<line>\\d+) has (?P<n>\\d+) characters, but (?P<form>\\S+) lines have "
     "(?P<chars>\\d+)", "开头第 {line} 句有 {n} 个字，{form}每句 {chars} 个字"),
    ("the start is longer than (?P<form>\\S+) holds \\((?P<lines>\\d+) lines of (?P<chars>\\d+) "
     "characters\\)", "开头比一首{form}还长：{form}共 {lines} 句，每句 {chars} 个字"),
    ("the start's line (?P<line>\\d+) has (?P<n>\\d+) characters, but line \\d+ of (?P<form>\\S+) "
     "has (?P<chars>\\d+)", "开头第 {line} 句有 {n} 个字，{form}第 {line} 句是 {chars} 个字"),
    ("the start is longer than (?P<form>\\S+) holds \\((?P<total>\\d+) characters in "
     "(?P<lines>\\d+) lines\\)", "开头比一首{form}还长：{form}共 {lines} 句、{total} 个字"),
    ("an acrostic of (?P<n>\\d+) characters fits no variant of (?P<form>\\S+): give "
     "(?P<counts>[\\d or]+) characters, one a line",
     "{n} 个藏头字不合{form}：{form}有 {counts} 句，每句一个藏头字"),
    ("an acrostic needs a regulated form, not free length",
     "藏头诗要选格律体裁，不能选「不限字数」"),
    ("an acrostic of (?P<n>\\d+) characters fits no form: give 4 \\(绝句\\) or 8 \\(律诗\\) "
     "characters", "{n} 个藏头字没有合适的体裁：绝句 4 个字，律诗 8 个字"),
    ("an acrostic of (?P<n>\\d+) characters does not fit (?P<form>\\S+) \\((?P<lines>\\d+) "
     "lines\\); forms that fit: (?P<forms>.+)",
     "{n} 个藏头字不合{form}（{lines} 句）；合适的体裁：{forms}"),
    ("the title has no Han characters, only marks", "题目里没有汉字，只有标点"),
    ("the title must be Chinese characters; it holds (?P<value>.+)",
     "题目只能用汉字，其中有 {value}"),
    ("the title is too long: (?P<n>\\d+) characters, at most (?P<most>\\d+) \\(a longer text is "
     "a theme: --theme\\)", "题目太长了：{n} 个字，最多 {most} 个（长的文字请用「主题」模式）"),
    ("the title must be text, got \\w+", "题目必须是文字"),
    ("the title is empty", "题目是空的，请先填写"),
    ("this model was not trained with titles: it cannot take one",
     "这个模型没有学过题目，不能按题写诗"),
    ("none of the theme's words are in the model's vocabulary",
     "主题里的词模型都不认识，请换个说法"),
    # the couplet tab
    (f"the {_WHICH} is empty", "{which}是空的，请先填写"),
    (f"the {_WHICH} is too long: at most (?P<n>\\d+) characters", "{which}太长了：最多 {n} 个字"),
    (f"the {_WHICH} must be text, got \\w+", "{which}必须是文字"),
    (f"the {_WHICH} has characters that are not Han characters: {_VALUE}",
     "{which}里有不是汉字的字符：{value}"),
    (f"the {_WHICH} has no Han characters, only marks", "{which}里没有汉字，只有标点"),
    (f"the {_WHICH} has (?P<n>\\d+) commas inside: a 联 has at most one",
     "{which}中间有 {n} 个逗号：一联中间最多一个"),
    (f"the {_WHICH} has a mark where its characters should be: {_VALUE}",
     "{which}里标点连在一起或放错了地方：{value}"),
    (f"the {_WHICH} has (?P<n>\\d+) characters: a 联 has (?P<low>\\d+) to (?P<high>\\d+)",
     "{which}有 {n} 个字：一联 {low} 到 {high} 个字"),
    (f"the {_WHICH}'s comma stands between two parts of 2 or more characters",
     "{which}的逗号两边至少各有两个字"),
    ("the 上联 ends 平 \\((?P<char>.)\\): it reads as a 下联; --couplet-lower writes a 上联 for it",
     "上联以平声字「{char}」收尾，读来像下联：上联应以仄声字收尾"),
    ("the 下联 ends 仄 \\((?P<char>.)\\): it reads as a 上联; --couplet writes a 下联 for it",
     "下联以仄声字「{char}」收尾，读来像上联：下联应以平声字收尾"),
    ("a couplet needs a 上联, a 下联 or a theme", "请填写上联，或给一个主题"),
    ("give a 上联 or a 下联, not both: the other is written",
     "上联和下联只填一个，另一个由模型来对"),
    ("a 联 has (?P<low>\\d+) to (?P<high>\\d+) characters, got (?P<value>.+)",
     "一联 {low} 到 {high} 个字，收到 {value}"),
    # the writing tab: the controls
    ("n must be at most (?P<most>\\d+) here, got (?P<value>.+)",
     "这里一次最多写 {most} 首，收到 {value}"),
    ("n must be an integer between 1 and (?P<most>\\d+), got (?P<value>.+)",
     "首数必须是 1 到 {most} 的整数，收到 {value}"),
    ("unknown form (?P<value>.+); choose one of (?P<forms>.+)", "没有体裁 {value}；可选：{forms}"),
    ("unknown form (?P<value>.+); the closest: (?P<forms>.+) \\(--list-forms lists them all\\)",
     "没有体裁 {value}；最接近的：{forms}"),
    ("form must be a form's name, got (?P<value>.+)", "体裁必须是体裁的名字，收到 {value}"),
    ("script must be simplified or traditional, got (?P<value>.+)",
     "字体只能是简体或繁體，收到 {value}"),
    ("unknown rhyme book (?P<value>.+); choose one of .+",
     "没有韵书 {value}；可选：平水韵、中华新韵"),
    ("(?P<switch>rhyme|tone) must be True or False, got (?P<value>.+)",
     "「{switch}」只能勾选或不勾选，收到 {value}"),
    ("temperature must be a finite number above 0, got (?P<value>.+)",
     "温度必须是大于 0 的数，收到 {value}"),
    ("top_p must be a number in \\(0, 1\\], got (?P<value>.+)",
     "top-p 必须大于 0、不大于 1，收到 {value}"),
    ("seed must be an integer from 0 to 2\\*\\*63 - 1, got (?P<value>.+)",
     "种子必须是 0 到 2⁶³−1 的整数（或留空），收到 {value}"),
    ("unknown mode (?P<value>.+); choose one of .+",
     "没有模式 {value}；可选：自由、续写、藏头、主题、命题"),
    # rewriting
    ("choose a candidate from 1 to (?P<most>\\d+), got (?P<value>.+)",
     "请选第 1 到第 {most} 首候选，收到 {value}"),
    ("keep must be line numbers or .+", "锁定的只能是句子的序号"),
    ("a kept position must be \\(line, position\\), got (?P<value>.+)",
     "锁定的位置必须是（句，字），收到 {value}"),
    ("the kept characters include ones the model does not know: (?P<value>.+)",
     "锁定的句子里有模型不认识的字：{value}"),
    ("revising keeps the poem's own form, not free length",
     "重写保留原诗的体裁，不能选「不限字数」"),
    # the checking tab, and positions in a poem
    ("(?P<lines>\\d+) lines? of (?P<lengths>[\\d, ]+) characters: not one of (?P<forms>.+), nor "
     "the shape of a 词牌",
     "{lines} 句，每句字数 {lengths}：不是{forms}中的任何一种，也不合任何词牌"),
    ("(?P<lines>\\d+) lines? of (?P<lengths>[\\d, ]+) characters: not one of (?P<forms>.+)",
     "{lines} 句，每句字数 {lengths}：不是{forms}中的任何一种"),
    ("(?P<lines>\\d+) lines? of (?P<lengths>[\\d, ]+) characters: not (?P<form>\\S+) "
     "\\((?P<want>\\d+) lines of (?P<chars>\\d+)\\)",
     "{lines} 句，每句字数 {lengths}：不是{form}（{want} 句，每句 {chars} 字）"),
    ("line (?P<value>.+) is out of range: a (?P<form>\\S+) has lines 1–(?P<most>\\d+)",
     "没有第 {value} 句：{form}只有第 1–{most} 句"),
    ("character (?P<value>.+) is out of range: a line of (?P<form>\\S+) has characters "
     "1–(?P<most>\\d+)", "没有第 {value} 字：{form}每句只有第 1–{most} 字"),
)  # fmt: skip
_COMPILED = tuple((re.compile(pattern), chinese) for pattern, chinese in MESSAGES)
_SWITCHES = {"rhyme": "押韵", "tone": "合平仄"}


def in_chinese(message: str) -> str:
    """``message`` as the page shows it: its row of :data:`MESSAGES`; as it is where it has no
    Latin letters; otherwise framed in Chinese (and logged, to be given a row)."""
    for pattern, chinese in _COMPILED:
        match = pattern.fullmatch(message)
        if match:
            fields = match.groupdict()
            if "text" in fields:
                fields["text"] = TEXTS[fields["text"]]
            if "switch" in fields:
                fields["switch"] = _SWITCHES[fields["switch"]]
            if "counts" in fields:
                fields["counts"] = fields["counts"].replace(" or ", " 或 ")
            if "forms" in fields:
                fields["forms"] = "无" if fields["forms"] == "none" else fields["forms"]
                fields["forms"] = fields["forms"].replace(", ", "、")
            return chinese.format(**fields)
    if not re.search("[A-Za-z]", message):
        return message
    log.warning("no Chinese for the message %r", message)
    return f"输入有误（{message}）"
