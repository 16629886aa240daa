"""The text side of search (`backend.search_text`), in-process:

- a typed query becomes terms — words, quoted phrases, CJK runs — and an FTS5 expression in which every term is
  a quoted string, so nothing typed is FTS syntax;
- CJK runs are indexed as overlapping two-character grams, and a CJK query as a phrase of them;
- a snippet is plain-text segments around the first match, every match marked, found without regard to case or
  accents, and one line long.
"""

from __future__ import annotations

import pytest

from backend.search_text import Term, fold, grams, match_expression, parse, snippet


def marked(segments: list[dict[str, object]]) -> str:
    return "".join(f"[{s['text']}]" if s["hit"] else str(s["text"]) for s in segments)


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("café menu", [Term("café"), Term("menu")]),
        ('"exact phrase" word', [Term("exact phrase", phrase=True), Term("word")]),
        ('"unbalanced quote', [Term("unbalanced quote", phrase=True)]),
        ("東京タワー trip", [Term("東京タワー", cjk=True), Term("trip")]),
        ("vuelo東京", [Term("vuelo"), Term("東京", cjk=True)]),
        ("*** ( ) :", []),
        ("   ", []),
    ],
)
def test_a_query_is_split_into_words_phrases_and_cjk_runs(query: str, terms: list[Term]) -> None:
    assert parse(query) == terms


def test_every_term_is_quoted_so_fts_syntax_is_searched_as_text() -> None:
    assert match_expression(parse('AND OR NOT "a""b" NEAR(x')) == (
        '(text : "AND"*) AND (text : "OR"*) AND (text : "NOT"*) AND (text : "a") AND (text : "b") AND '
        '(text : "NEAR"* AND text : "x"*)'
    )


def test_words_are_prefixes_and_phrases_are_exact() -> None:
    assert match_expression([Term("embed")]) == '(text : "embed"*)'
    assert match_expression([Term("brown fox", phrase=True)]) == '(text : "brown fox")'


def test_cjk_text_is_indexed_and_searched_as_two_character_grams() -> None:
    assert grams("I went to 東京都庁 and 大阪") == "東京 京都 都庁 大阪"
    assert grams("No CJK here") == ""
    assert grams("猫") == "猫"
    assert match_expression([Term("京都", cjk=True)]) == '(grams : "京都")'
    assert match_expression([Term("東京都", cjk=True)]) == '(grams : "東京 京都")'
    assert match_expression([Term("猫", cjk=True)]) == '(grams : "猫"*)'


def test_folding_removes_case_and_accents_and_remembers_where_each_letter_came_from() -> None:
    assert fold("Café ÉTÉ") == ("cafe ete", [0, 1, 2, 3, 4, 5, 6, 7])
    assert fold("ﬁne")[0] == "fine"


def test_a_snippet_marks_every_match_whatever_its_case_or_accents() -> None:
    segments = snippet("We met at the CAFÉ, then another café.", parse("cafe"))
    assert marked(segments) == "We met at the [CAFÉ], then another [café]."


def test_a_phrase_is_marked_whole_and_a_cjk_run_inside_text() -> None:
    assert marked(snippet("the quick brown fox", parse('"brown fox"'))) == "the quick [brown fox]"
    assert marked(snippet("東京都庁に行きました", parse("都庁"))) == "東京[都庁]に行きました"


def test_a_long_text_is_cut_around_the_first_match_with_ellipses() -> None:
    text = "word " * 100 + "needle " + "word " * 100
    shown = marked(snippet(text, parse("needle"), width=60))
    assert shown.startswith("…") and shown.endswith("…")
    assert "[needle]" in shown and len(shown) < 80


def test_a_snippet_is_one_line() -> None:
    assert marked(snippet("first line\n\nsecond\tline", parse("second"))) == "first line [second] line"


def test_without_a_match_a_snippet_is_the_start_of_the_text() -> None:
    assert marked(snippet("A title that matched", [Term("elsewhere")])) == "A title that matched"
