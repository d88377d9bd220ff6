"""How a user's text is read, the same at every entry point: simplified, ASCII marks as the
poem's own, and bounded before anything is converted."""

import pytest

from poetry_rnn.errors import PoetryError
from poetry_rnn.poetics.check import check
from poetry_rnn.poetics.couplets import read_couplet, read_line
from poetry_rnn.text import full_width, user_text


def test_a_users_text_is_simplified_with_its_ascii_marks_read_as_line_ends():
    assert full_width("a,b.c?d!e;") == "a，b。c？d！e；"
    assert user_text(" 牀前明月光, 疑是地上霜. ", "start", 100) == "床前明月光，疑是地上霜。"
    assert user_text("床前\n明月光", "poem", 100, keep_breaks=True) == "床前\n明月光"


def test_a_users_text_that_is_not_text_or_too_long_is_refused_before_it_is_read():
    with pytest.raises(PoetryError, match=r"^the title must be text, got int$"):
        user_text(7, "title", 100)
    with pytest.raises(PoetryError, match=r"^the 上联 is too long: at most 3 characters$"):
        user_text("春风" * 2, "上联", 3)


def test_check_and_the_couplet_read_ascii_marks_as_their_own():
    ascii_poem = check("床前明月光, 疑是地上霜. 举头望明月, 低头思故乡.")
    assert ascii_poem.lines == check("床前明月光，疑是地上霜。举头望明月，低头思故乡。").lines
    assert read_line("海阔凭鱼跃, 天高任鸟飞") == ["海阔凭鱼跃", "天高任鸟飞"]
    assert read_couplet("天增岁月人增寿; 春满乾坤福满门") == (
        ["天增岁月人增寿"],
        ["春满乾坤福满门"],
    )
