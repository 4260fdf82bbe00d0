"""An answer's Markdown as safe HTML (feedback_app/text/markup.py): what it renders, what it
refuses to render, and that no text whatever gets script, an event handler, a style or a
dangerous link through."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback_app.text import markup
from feedback_app.text.markup import MarkupTooLarge, Problem, problems, render


class _Tags(HTMLParser):
    """Every start tag and its attributes, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def _assert_safe(html: str) -> None:
    assert "<script" not in html.lower()
    for tag, attrs in _tags(html):
        assert tag in markup.ALLOWED_TAGS, tag
        for name, value in attrs.items():
            assert not name.startswith("on") and name != "style", (tag, name)
            if name == "href":
                assert value.split(":", 1)[0].lower() in markup.LINK_SCHEMES, value
                assert attrs.get("rel") == "nofollow ugc noopener"
            if name == "rel":
                continue
            assert name in markup.ALLOWED_ATTRIBUTES.get(tag, set()), (tag, name)


# --- what an answer renders ---------------------------------------------------------------------


def test_plain_text_comes_out_as_plain_paragraphs():
    text = "Thank you for your view.\nWe will study it.\n\nThe Transport Department replies within a month."
    assert render(text) == (
        "<p>Thank you for your view.<br>\nWe will study it.</p>\n<p>The Transport Department replies within a month.</p>"
    )
    assert render("感謝你的意見。\n\n運輸署會研究。") == "<p>感謝你的意見。</p>\n<p>運輸署會研究。</p>"
    assert render("") == render("   \n ") == render(None) == ""


def test_text_pasted_with_leading_spaces_stays_a_paragraph():
    assert render("    Indented by the mail client") == "<p>Indented by the mail client</p>"


def test_emphasis_lists_quotes_and_links():
    html = render(
        "**Next steps**, *briefly*:\n\n1. a survey\n2. a trial\n\n- one\n  - two\n\n> as you wrote\n\n"
        "See [the plan](https://www.gov.hk/en/plan?x=1&y=2) or <https://www.gov.hk>."
    )
    assert "<strong>Next steps</strong>" in html and "<em>briefly</em>" in html
    assert "<ol>\n<li>a survey</li>" in html and "<ul>\n<li>one\n<ul>\n<li>two</li>" in html
    assert "<blockquote>\n<p>as you wrote</p>\n</blockquote>" in html
    assert '<a href="https://www.gov.hk/en/plan?x=1&amp;y=2" rel="nofollow ugc noopener">the plan</a>' in html
    assert '<a href="https://www.gov.hk" rel="nofollow ugc noopener">https://www.gov.hk</a>' in html
    _assert_safe(html)


@pytest.mark.parametrize(
    ("source", "tag"), [("# A", "h4"), ("## A", "h5"), ("### A", "h6"), ("###### A", "h6"), ("A\n===", "h4")]
)
def test_headings_never_outrank_the_page(source, tag):
    assert render(source) == f"<{tag}>A</{tag}>"


@pytest.mark.parametrize(
    "link",
    [
        "[x](mailto:enquiry@example.gov.hk)",
        "[x](tel:+85212345678)",
        "[x](http://example.org/)",
        "[x](HTTPS://EXAMPLE.ORG/)",
    ],
)
def test_links_of_the_allowed_schemes(link):
    html = render(link)
    assert html.startswith('<p><a href="') and 'rel="nofollow ugc noopener"' in html
    _assert_safe(html)


@pytest.mark.parametrize(
    "link",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java&#x09;script:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox)",
        "[x](file:///etc/passwd)",
        "[x](/relative/path)",
        "[x](//evil.example/)",
        "[x](ftp://example.org/)",
        "<javascript:alert(1)>",
        "[x]: javascript:alert(1)\n\n[x]",
        "[x](http:)",
        "[x](\\[PHONE\\])",
        "[x](mailto:\\[EMAIL\\])",  # a masked address, which normalising would make "mailto:EMAIL"
        "<tel:\\[PHONE\\]>",
        "[x](mailto:［電郵］)",
        "[x](https://example.org/?a%5B%5D=1)",
    ],
)
def test_any_other_link_is_text(link):
    html = render(link)
    assert "<a" not in html and "href" not in html
    _assert_safe(html)


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        '<p style="position:fixed">x</p>',
        "<iframe src=https://example.org></iframe>",
        "![x](https://example.org/track.png)",
        '[x](https://example.org/ "a\\" onmouseover=\\"alert(1)")',
        "```html onload=alert(1)\n<script>\n```",
        "<!-- comment --><style>body{}</style>",
    ],
)
def test_raw_html_images_and_attribute_tricks_never_get_through(hostile):
    html = render(hostile)
    _assert_safe(html)
    assert "<img" not in html and "<iframe" not in html and "<style" not in html


def test_an_image_is_shown_as_a_link_to_it_not_loaded():
    assert render("![plan](https://example.org/plan.png)") == (
        '<p>!<a href="https://example.org/plan.png" rel="nofollow ugc noopener">plan</a></p>'
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(list("<>[]()!*_`#-+=.:;/\\\"'& \n\t1aA陳")),
            st.sampled_from(["javascript:", "onerror=", "style=", "<script", "http://", "mailto:", "](", "> "]),
            st.characters(blacklist_categories=("Cs",)),
        ),
        max_size=200,
    ).map("".join)
)
def test_any_text_renders_safely(text):
    try:
        html = render(text)
    except MarkupTooLarge as exc:
        assert exc.problem in problems(text)
        return
    _assert_safe(html)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_problems_and_render_agree(text):
    if problems(text):
        with pytest.raises(MarkupTooLarge):
            render(text)
    else:
        render(text)


# --- bombs: refused at once, with a reason ---------------------------------------------------------

BOMBS = {
    "10,000 nested quotes": (">" * 10_000 + " boom", Problem.TOO_DEEP),
    "nested quotes, one a line": ("".join(">" * i + " a\n" for i in range(1, 100)), Problem.TOO_DEEP),
    "10,000 nested lists": ("1. " * 6_000 + "boom", Problem.TOO_DEEP),
    "lists nested by indentation": ("".join("  " * i + "- a\n" for i in range(40)), Problem.TOO_DEEP),
    "quotes and lists": ("> - " * 3_000 + "boom", Problem.TOO_DEEP),
    "1 MB of links": ("[link](https://example.org/) " * 36_000, Problem.TOO_LONG),
    "1 MB of brackets": ("[" * 1_000_000, Problem.TOO_LONG),
    "20,000 characters and one": ("a" * (markup.MAX_LENGTH + 1), Problem.TOO_LONG),
    "brackets within the length": ("[a" * 5_000, Problem.TOO_MANY_BRACKETS),
}


@pytest.mark.parametrize("name", BOMBS)
def test_a_markdown_bomb_is_refused_quickly_with_its_reason(name):
    bomb, problem = BOMBS[name]
    started = time.perf_counter()
    assert problems(bomb) == [problem]
    with pytest.raises(MarkupTooLarge) as refused:
        render(bomb)
    assert time.perf_counter() - started < 0.5
    assert refused.value.problem == problem
    assert str(refused.value) == markup.PROBLEM_MESSAGES[problem]


def test_nesting_within_the_limit_renders():
    quotes = ">" * markup.MAX_DEPTH + " deep"
    assert render(quotes).count("<blockquote>") == markup.MAX_DEPTH
    lists = "".join("  " * i + "- level\n" for i in range(markup.MAX_DEPTH))
    assert render(lists).count("<li>") == markup.MAX_DEPTH
    assert problems(">" * (markup.MAX_DEPTH + 1) + " deeper") == [Problem.TOO_DEEP]


def test_a_long_ordinary_answer_within_the_limit_renders():
    paragraph = "The bureau has studied the views received on this initiative in detail. " * 10
    text = "\n\n".join([paragraph] * 25)[: markup.MAX_LENGTH]
    assert problems(text) == []
    assert render(text).count("<p>") == 25


@pytest.mark.parametrize(
    "costly",
    [
        "*a **a " * 1_400 + "b" + " a** a*" * 1_400,
        "a_ " * 6_600,
        "a]" * 9_900,
        "[a" * 999 + "*a_ " * 4_500,
        "*a" * 9_900,
        "- a\n" * 4_900,
        "1. a\n" * 3_900,
        "a\n" * 9_900,
        "<a" * 9_900,
        "` " * 9_900,
        "&" * 19_900,
    ],
)
def test_the_costliest_texts_within_the_limits_render_in_well_under_a_second(costly):
    assert len(costly) <= markup.MAX_LENGTH
    started = time.perf_counter()
    markup._render.__wrapped__(costly)  # not the cache
    assert time.perf_counter() - started < 2.0  # about 0.3 s on a loaded CI machine; seconds would fail


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("abcXYZ019 ,?陳大文市民意見。，")), min_size=1, max_size=40).filter(
            lambda s: s.strip()
        ),
        min_size=1,
        max_size=5,
    )
)
def test_plain_text_in_plain_paragraphs_out(paragraphs):
    """Text with no Markdown in it comes out as typed: one paragraph per blank-line-separated block."""
    html = render("\n\n".join(paragraphs))
    assert html == "\n".join(f"<p>{p.strip()}</p>" for p in paragraphs)
