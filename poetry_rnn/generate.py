"""Writing poems: ``PoetryGenerator`` and ``python -m poetry_rnn.generate``.

Every mode — free, 续写 from a start, acrostic (藏头) and theme — builds a :class:`Plan` and
hands it to the one decoding loop in :mod:`poetry_rnn.decoding`.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from poetry_rnn.checkpoint import from_pretrained
from poetry_rnn.decoding import Decoder, Plan, Sampling, form_plan
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.model import native_bf16
from poetry_rnn.prosody import FORMS, Form, PoemChecks, check_poem, get_form
from poetry_rnn.text import PUNCTUATION, is_han, to_simplified, to_traditional
from poetry_rnn.vocab import Vocab

MAX_POEMS = 256
MAX_INPUT_CHARS = 200
THEME_KEYWORDS = 8
THEME_BONUS = 3.0  # logit bonus for a line's planned theme character
ACROSTIC_FORMS = {4: "七言绝句", 8: "七言律诗"}
_ASCII_PUNCTUATION = str.maketrans(",.?!;", "，。？！；")


@dataclass(frozen=True)
class Poem:
    """A generated poem and how it fares against its form."""

    text: str
    lines: list[str]
    form: str | None
    mode: str
    seed: int
    checks: PoemChecks | None

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.checks is not None:
            data["checks"] |= {"tone_rate": self.checks.tone_rate}
        return data


@dataclass(frozen=True)
class _Request:
    """The controls every mode shares, validated."""

    form: Form | None
    rhyme: bool
    tone: bool
    sampling: Sampling
    seed: int
    n: int
    style: str
    script: str


class PoetryGenerator:
    """Writes poems with a trained CharRNN."""

    def __init__(self, model: torch.nn.Module, vocab: Vocab) -> None:
        self.vocab = vocab
        self.decoder = Decoder(model, vocab)

    @classmethod
    def from_pretrained(
        cls, path: str | Path | None = None, device: str = "cpu", precision: str = "auto"
    ) -> PoetryGenerator:
        """A generator from a model directory (see ``poetry_rnn.train``); by default the model
        that ships inside the package (MODEL_CARD.md).

        ``precision="auto"`` decodes in bf16 where the hardware runs it natively (on such CPUs
        a decoding step is about four times faster: it reads half the bytes); "fp32" never.
        """
        if precision not in ("auto", "bf16", "fp32"):
            raise PoetryError(f"precision must be auto, bf16 or fp32, got {precision!r}")
        model, vocab = from_pretrained(path, device)
        if precision == "bf16" or (precision == "auto" and native_bf16(torch.device(device))):
            model = model.to(torch.bfloat16)
        return cls(model, vocab)

    # --- the modes --------------------------------------------------------------------------

    def generate(self, start: str = "", **controls: object) -> list[Poem]:
        """Free poems, or poems continuing ``start`` (which may span lines, with punctuation)."""
        request = self._request(**controls)
        start = self._user_text(start, "start", required=False, punctuation=True)
        mode = "start" if start else "free"
        if request.form is None:
            plan = Plan(context=start, style=request.style, repeat_ok=_repeated(start))
        else:
            fixed = _align_start(start, request.form)
            plan = self._form_plan(request, fixed, repeat_ok=_repeated(start))
        return self._decode(plan, request, mode)

    def acrostic(self, heads: str, **controls: object) -> list[Poem]:
        """Poems whose lines begin with the characters of ``heads`` (藏头诗)."""
        heads = self._user_text(heads, "acrostic", required=True)
        if controls.get("form") is None:
            if len(heads) not in ACROSTIC_FORMS:
                raise PoetryError(
                    f"an acrostic of {len(heads)} characters fits no form: "
                    "give 4 (绝句) or 8 (律诗) characters"
                )
            controls["form"] = ACROSTIC_FORMS[len(heads)]
        request = self._request(**controls)
        if len(heads) != request.form.lines:
            fits = ", ".join(f.name for f in FORMS.values() if f.lines == len(heads)) or "none"
            raise PoetryError(
                f"an acrostic of {len(heads)} characters does not fit {request.form.name} "
                f"({request.form.lines} lines); forms that fit: {fits}"
            )
        fixed = {(line, 1): char for line, char in enumerate(heads)}
        plan = self._form_plan(request, fixed, repeat_ok=_repeated(heads))
        return self._decode(plan, request, "acrostic")

    def themed(self, text: str, steer: str = "plan", **controls: object) -> list[Poem]:
        """Poems on the theme of ``text``, steered by jieba's keywords.

        ``steer``: "plan" (each line favours one keyword character; the default, measured to
        read better), "prime" (the keywords prime the state as an unprinted prefix, as the
        textbook's 意境 prefix does), or "both".
        """
        if steer not in ("plan", "prime", "both"):
            raise PoetryError(f"steer must be plan, prime or both, got {steer!r}")
        text = self._user_text(text, "theme", required=True, check_vocab=False, punctuation=True)
        chars = self.theme_characters(text)
        request = self._request(**controls)
        style = request.style + ("".join(chars) if steer != "plan" else "")
        bias = {}
        if steer != "prime" and request.form is None:  # free length: no lines to plan into
            bias = {-1: dict.fromkeys(chars, THEME_BONUS / 3)}
        elif steer != "prime":
            lines = range(request.form.lines)
            bias = {line: {chars[line % len(chars)]: THEME_BONUS} for line in lines}
        if request.form is None:
            plan = Plan(style=style, bias=bias)
        else:
            plan = self._form_plan(request, {}, style=style, bias=bias)
        return self._decode(plan, request, "theme")

    def theme_characters(self, text: str) -> list[str]:
        """The characters of ``text``'s jieba keywords that the vocabulary knows, in order."""
        import jieba
        import jieba.analyse

        jieba.setLogLevel(logging.WARNING)  # not its dictionary-loading chatter on stderr
        words = jieba.analyse.extract_tags(to_simplified(text), topK=THEME_KEYWORDS) or [text]
        chars = [c for word in words for c in word if is_han(c) and c in self.vocab]
        if not chars:
            raise PoetryError("none of the theme's words are in the model's vocabulary")
        return list(dict.fromkeys(chars))

    # --- shared steps -----------------------------------------------------------------------

    def _request(
        self,
        form: str | None = None,
        rhyme: bool = True,
        tone: bool = True,
        temperature: float = 0.8,
        top_k: int = 0,
        top_p: float = 0.9,
        seed: int | None = None,
        n: int = 1,
        style: str = "",
        script: str = "simplified",
    ) -> _Request:
        if not temperature > 0:
            raise PoetryError(f"temperature must be above 0, got {temperature}")
        if not 0 < top_p <= 1:
            raise PoetryError(f"top_p must be in (0, 1], got {top_p}")
        if top_k < 0:
            raise PoetryError(f"top_k must be 0 (off) or more, got {top_k}")
        if not 1 <= n <= MAX_POEMS:
            raise PoetryError(f"n must be between 1 and {MAX_POEMS}, got {n}")
        if script not in ("simplified", "traditional"):
            raise PoetryError(f"script must be simplified or traditional, got {script!r}")
        if seed is None:
            seed = secrets.randbelow(2**31)
        elif not 0 <= seed < 2**63:
            raise PoetryError(f"seed must be a non-negative integer below 2**63, got {seed}")
        style = self._user_text(style, "style", required=False, punctuation=True)
        return _Request(
            form=get_form(form) if form is not None else None,
            rhyme=rhyme,
            tone=tone,
            sampling=Sampling(temperature, top_k, top_p),
            seed=seed,
            n=n,
            style=style,
            script=script,
        )

    def _form_plan(self, request: _Request, fixed: dict, **options: object) -> Plan:
        options.setdefault("style", request.style)
        return form_plan(request.form, fixed, rhyme=request.rhyme, tone=request.tone, **options)

    def _user_text(
        self,
        text: str,
        what: str,
        required: bool,
        punctuation: bool = False,
        check_vocab: bool = True,
    ) -> str:
        """User text, simplified and checked: Han characters (and punctuation where allowed)."""
        if not isinstance(text, str):
            raise PoetryError(f"the {what} must be text, got {type(text).__name__}")
        if len(text) > MAX_INPUT_CHARS:
            raise PoetryError(f"the {what} is too long: at most {MAX_INPUT_CHARS} characters")
        text = "".join(to_simplified(text).translate(_ASCII_PUNCTUATION).split())
        if not text:
            if required:
                raise PoetryError(f"the {what} is empty")
            return text
        allowed = PUNCTUATION if punctuation else ""
        other = [c for c in dict.fromkeys(text) if not is_han(c) and c not in allowed]
        if other and (check_vocab or not any(is_han(c) for c in text)):
            listed = " ".join(other)
            raise PoetryError(f"the {what} has characters that are not Han characters: {listed}")
        if check_vocab:
            unknown = [c for c in self.vocab.unknown_chars(text) if c not in PUNCTUATION]
            if unknown:
                raise PoetryError(
                    f"the {what} has characters the model does not know: {' '.join(unknown)}"
                )
        return text

    def _decode(self, plan: Plan, request: _Request, mode: str) -> list[Poem]:
        texts = self.decoder.decode(plan, request.n, request.sampling, request.seed)
        poems = []
        for text in texts:
            checks = check_poem(text, request.form) if request.form is not None else None
            if request.script == "traditional":
                text = to_traditional(text)
            poems.append(
                Poem(
                    text=text,
                    lines=_printed_lines(text),
                    form=request.form.name if request.form else None,
                    mode=mode,
                    seed=request.seed,
                    checks=checks,
                )
            )
        return poems


def _repeated(text: str) -> frozenset[str]:
    """Characters the user's text itself uses more than once: they may recur."""
    return frozenset(c for c, k in Counter(text).items() if k > 1 and c not in PUNCTUATION)


def _align_start(start: str, form: Form) -> dict[tuple[int, int], str]:
    """Place the start text's characters in the form's slots; punctuation must end lines."""
    fixed: dict[tuple[int, int], str] = {}
    line, position = 0, 0
    for char in start:
        if char in PUNCTUATION:
            if position != form.chars:
                raise PoetryError(
                    f"the start's line {line + 1} has {position} characters, but "
                    f"{form.name} lines have {form.chars}"
                )
            line, position = line + 1, 0
            continue
        if position == form.chars:
            line, position = line + 1, 0
        position += 1
        if line >= form.lines:
            raise PoetryError(
                f"the start is longer than {form.name} holds "
                f"({form.lines} lines of {form.chars} characters)"
            )
        fixed[(line, position)] = char
    return fixed


def _printed_lines(text: str) -> list[str]:
    """The poem's lines, each with the punctuation that ends it."""
    lines, current = [], ""
    for char in text:
        current += char
        if char in PUNCTUATION:
            lines.append(current)
            current = ""
    return [*lines, current] if current else lines


# --- command line -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m poetry_rnn.generate", description="Write classical Chinese poems."
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--start", help="续写: the poem begins with this text")
    mode.add_argument("--acrostic", help="藏头: the lines begin with these characters")
    mode.add_argument("--theme", help="主题: modern or classical text whose keywords steer")
    parser.add_argument("--style", default="", help="text that primes the mood, not printed")
    parser.add_argument(
        "--steer", choices=("plan", "prime", "both"), default="plan",
        help="how --theme steers: keywords planned into the lines, priming the state, or both",
    )  # fmt: skip
    parser.add_argument("--form", choices=list(FORMS), help="default: free length")
    parser.add_argument("--n", type=int, default=1, help="how many poems")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--seed", type=int, help="the same seed writes the same poems")
    parser.add_argument("--no-rhyme", action="store_true", help="do not force the rhyme")
    parser.add_argument("--no-tone", action="store_true", help="do not force the tones")
    parser.add_argument("--traditional", action="store_true", help="print traditional characters")
    parser.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of poems")
    args = parser.parse_args(argv)

    generator = PoetryGenerator.from_pretrained(args.model)
    controls = {
        "form": args.form, "n": args.n, "temperature": args.temperature, "top_k": args.top_k,
        "top_p": args.top_p, "seed": args.seed, "rhyme": not args.no_rhyme,
        "tone": not args.no_tone, "style": args.style,
        "script": "traditional" if args.traditional else "simplified",
    }  # fmt: skip
    if args.acrostic is not None:
        poems = generator.acrostic(args.acrostic, **controls)
    elif args.theme is not None:
        poems = generator.themed(args.theme, steer=args.steer, **controls)
    else:
        poems = generator.generate(args.start or "", **controls)
    if args.json:
        print(json.dumps([poem.to_dict() for poem in poems], ensure_ascii=False, indent=2))
    else:
        print("\n\n".join("\n".join(poem.lines) for poem in poems))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
