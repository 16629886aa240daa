"""Conversation search end to end, over HTTP against the real app (`chatkit-desktop serve`, the fake provider)
and its real SQLite index on disk: what a person can type and what it finds, and how results are ranked, paged,
dated and highlighted — against the hand-written history of `tests/search_helpers.py` (`corpus`).

The index following every change and surviving damage: `tests/test_search_index.py`; odd queries, the token and
privacy: `tests/test_search_queries.py`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.bench.search import item_id
from tests.harness import RunningApp
from tests.search_helpers import (
    CORPUS,
    CREATED,
    every_page,
    folded,
    found,
    hit_texts,
    result_for,
    search,
    snippet_text,
    titles,
    when,
)

# ---- what a person can type ---------------------------------------------------------------------------------


def test_a_word_in_a_user_message_finds_that_message(corpus: RunningApp) -> None:
    result = result_for(corpus, "picnic", "thr_roles")
    assert (result["role"], result["item_id"], result["title"]) == ("user", item_id("thr_roles", 0), "Seaside outing")
    assert when(result["created_at"]) == CREATED["thr_roles"]
    assert result["hits"] == 1
    assert found(corpus, "picnic") == ["thr_roles"], "nothing else mentions a picnic"


def test_a_word_in_an_assistant_answer_finds_that_answer(corpus: RunningApp) -> None:
    result = result_for(corpus, "lighthouse", "thr_roles")
    assert (result["role"], result["item_id"]) == ("assistant", item_id("thr_roles", 1))
    assert when(result["created_at"]) == CREATED["thr_roles"] + timedelta(seconds=30)


def test_a_word_in_a_title_finds_the_conversation_by_its_title(corpus: RunningApp) -> None:
    result = result_for(corpus, "seaside", "thr_roles")
    assert (result["role"], result["item_id"], result["title"]) == ("title", None, "Seaside outing")
    assert when(result["created_at"]) == CREATED["thr_roles"], "a title hit carries the thread's time"


def test_a_quoted_phrase_finds_only_those_words_in_that_order(corpus: RunningApp) -> None:
    assert sorted(found(corpus, "red apple")) == ["thr_phrase_a", "thr_phrase_b"], "bare words: anywhere, any order"
    assert found(corpus, '"red apple"') == ["thr_phrase_a"]
    assert found(corpus, '"apple red"') == []
    assert found(corpus, '"apple is red" pie') == ["thr_phrase_b"], "a phrase and a word together"


def test_every_word_is_also_a_prefix(corpus: RunningApp) -> None:
    result = result_for(corpus, "embed", "thr_prefix")
    assert [folded(hit)[:5] for hit in hit_texts(result)] == ["embed"], result["snippet"]
    assert found(corpus, "embed clust") == ["thr_prefix"]
    assert found(corpus, "embeddingsx") == []


def test_accents_are_ignored_both_ways(corpus: RunningApp) -> None:
    assert sorted(found(corpus, "cafe")) == ["thr_cafe_accent", "thr_cafe_plain"]
    assert sorted(found(corpus, "café")) == ["thr_cafe_accent", "thr_cafe_plain"]
    assert sorted(found(corpus, "CAFÉ")) == ["thr_cafe_accent", "thr_cafe_plain"]
    assert hit_texts(result_for(corpus, "cafe", "thr_cafe_accent")) == ["Café"], "the text as written is marked"
    assert hit_texts(result_for(corpus, "café", "thr_cafe_plain")) == ["cafe"]
    assert found(corpus, "muller") == ["thr_cafe_accent"]
    assert found(corpus, "zürich") == ["thr_cafe_plain"]


def test_case_is_ignored(corpus: RunningApp) -> None:
    assert found(corpus, "rocket") == ["thr_case"]
    assert found(corpus, "Rocket NASA") == ["thr_case"]
    assert hit_texts(result_for(corpus, "rocket", "thr_case")) == ["ROCKET"]


@pytest.mark.parametrize(
    ("q", "thread_id", "role"),
    [
        pytest.param("東京", "thr_cjk_tokyo", "user", id="kanji-substring-at-the-start"),
        pytest.param("都庁", "thr_cjk_tokyo", "user", id="kanji-substring-inside"),
        pytest.param("行きました", "thr_cjk_tokyo", "user", id="kana-ending"),
        pytest.param("景色", "thr_cjk_tokyo", "assistant", id="kanji-in-an-answer"),
        pytest.param("ありがとう", "thr_cjk_kana", "user", id="hiragana-word"),
        pytest.param("コーヒー", "thr_cjk_kana", "assistant", id="katakana-word"),
        pytest.param("서울", "thr_korean", "user", id="korean-word"),
        pytest.param("メモ", "thr_cjk_tokyo", "title", id="katakana-in-a-title"),
    ],
)
def test_chinese_japanese_and_korean_text_is_found_by_any_substring(
    corpus: RunningApp, q: str, thread_id: str, role: str
) -> None:
    assert found(corpus, q) == [thread_id]
    result = result_for(corpus, q, thread_id)
    assert result["role"] == role
    if role != "title":
        assert hit_texts(result) == [q], result["snippet"]


def test_cjk_text_that_is_not_there_finds_nothing(corpus: RunningApp) -> None:
    assert found(corpus, "大阪") == []
    assert found(corpus, "東京タワー") == [], "the whole run must be there, not just its start"


def test_an_attachments_name_finds_the_message_it_was_sent_with(corpus: RunningApp) -> None:
    result = result_for(corpus, "flamingo", "thr_attach")
    assert (result["role"], result["item_id"]) == ("user", item_id("thr_attach", 0))
    assert found(corpus, "flamingo budget") == ["thr_attach"]


def test_search_syntax_is_searched_as_the_words_typed(corpus: RunningApp) -> None:
    # As FTS5 syntax this would mean "kiwis but not bananas" and find nothing.
    assert found(corpus, "kiwis NOT bananas") == ["thr_syntax"]
    assert found(corpus, "kiwis OR zzzzunheardof") == [], "OR is a word to look for, not an alternative"
    assert found(corpus, "(really)") == ["thr_syntax"]
    assert found(corpus, "programmer*") == ["thr_syntax"]
    assert found(corpus, "10:30") == ["thr_syntax"]


# ---- ranking and snippets ------------------------------------------------------------------------------------


def test_the_result_shows_the_conversations_best_matching_message_not_its_newest(corpus: RunningApp) -> None:
    result = result_for(corpus, "heron", "thr_best")
    assert (result["role"], result["item_id"], result["hits"]) == ("user", item_id("thr_best", 0), 2)
    assert when(result["created_at"]) == CREATED["thr_best"]
    assert hit_texts(result) == ["Heron", "heron", "heron"]


def test_a_word_in_thousands_of_messages_still_finds_every_conversation_newest_first(corpus: RunningApp) -> None:
    pages = every_page(corpus, "lantern", limit=5)
    results = {r["thread_id"]: r["hits"] for page in pages for r in page}
    assert sorted(results) == [
        "thr_lantern_0",
        "thr_lantern_1",
        "thr_lantern_2",
        "thr_lantern_3",
        "thr_lantern_4",
        "thr_lantern_big",
    ]
    assert sum(len(page) for page in pages) == 6, "no conversation twice"
    # Past 3,000 matching messages the matches are not counted (that alone took longer than the search).
    assert set(results.values()) == {None}


def test_a_closer_match_ranks_above_a_newer_looser_one(corpus: RunningApp) -> None:
    assert found(corpus, "axolotl") == ["thr_rank_dense", "thr_rank_sparse"]


def test_a_conversation_with_more_matching_messages_ranks_above_one_with_a_single_equal_match(
    corpus: RunningApp,
) -> None:
    # Each matching message is word for word the same kind of sentence; `many` has three, `once` (newer) one.
    results = search(corpus, "quetzal")["results"]
    assert [(r["thread_id"], r["hits"]) for r in results] == [("thr_rank_many", 3), ("thr_rank_once", 1)]


def test_equally_relevant_conversations_come_newest_first(corpus: RunningApp) -> None:
    assert found(corpus, "capybara") == ["thr_tie_new", "thr_tie_old"]
    assert found(corpus, "capybara", before="2025-02-05") == ["thr_tie_old"]


def test_a_snippet_marks_each_matched_word_as_written_and_is_taken_from_the_message(corpus: RunningApp) -> None:
    result = result_for(corpus, "cafe muller", "thr_cafe_accent")
    assert hit_texts(result) == ["Café", "Müller"]
    assert snippet_text(result).strip("…") in "We could try the Café Müller on Friday"
    assert snippet_text(result).startswith("We could try the "), "a short message is shown whole"


def test_the_snippet_of_a_long_message_is_short_and_shows_the_match(corpus: RunningApp) -> None:
    result = result_for(corpus, "narwhal", "thr_long")
    text = snippet_text(result)
    assert len(text) <= 300, f"{len(text)} characters"
    assert hit_texts(result) == ["narwhal"]
    assert text.startswith("…") and text.endswith("…"), "cut on both sides, and says so"
    assert "then the narwhal surfaced" in text


def test_a_phrase_is_marked_even_across_punctuation(corpus: RunningApp) -> None:
    # The phrase "thanks zebra" matches "thanks: zebra" (punctuation is not a word); the reader should see where.
    result = result_for(corpus, '"thanks zebra"', "thr_punct")
    assert folded(" ".join(hit_texts(result))).replace(":", "").split() == ["thanks", "zebra"], result["snippet"]


def test_a_cjk_hit_is_marked_inside_its_run(corpus: RunningApp) -> None:
    result = result_for(corpus, "都庁", "thr_cjk_tokyo")
    assert result["snippet"] == [
        {"text": "東京", "hit": False},
        {"text": "都庁", "hit": True},
        {"text": "に行きました", "hit": False},
    ]


# ---- pages and dates -------------------------------------------------------------------------------------------


def test_pages_follow_next_cursor_without_duplicates_or_gaps(corpus: RunningApp) -> None:
    pages = every_page(corpus, "wombat", limit=5)
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    paged = [result["thread_id"] for page in pages for result in page]
    assert len(set(paged)) == len(paged) == 23
    assert set(paged) == {f"thr_page_{n:02d}" for n in range(23)}
    assert paged == found(corpus, "wombat", limit=50), "pages in the same order as one long page"
    assert paged == [f"thr_page_{n:02d}" for n in reversed(range(23))], "equal matches: newest first"


def test_the_default_page_is_20_and_the_largest_50(corpus: RunningApp) -> None:
    first = search(corpus, "wombat")
    assert len(first["results"]) == 20 and first["next_cursor"] is not None
    last = search(corpus, "wombat", cursor=first["next_cursor"])
    assert len(last["results"]) == 3 and last["next_cursor"] is None
    assert search(corpus, "wombat", limit=50)["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, {"thr_date_jan": 1, "thr_date_mar": 3, "thr_date_apr": 4, "thr_date_both": None}, id="all"),
        pytest.param({"after": "2025-02-01"}, {"thr_date_mar": 3, "thr_date_apr": 4, "thr_date_both": 3}, id="after"),
        pytest.param({"before": "2025-02-01"}, {"thr_date_jan": 1, "thr_date_both": 1}, id="before"),
        pytest.param(
            {"after": "2025-02-01", "before": "2025-04-01"}, {"thr_date_mar": 3, "thr_date_both": 3}, id="between"
        ),
        pytest.param(
            {"before": "2025-04-01T12:00:00"},
            {"thr_date_jan": 1, "thr_date_mar": 3, "thr_date_both": None},
            id="before-is-exclusive",
        ),
        pytest.param({"after": "2025-03-31", "before": "2025-04-01T12:00:01"}, {"thr_date_apr": 4}, id="datetime"),
        pytest.param({"after": "2025-03-16", "before": "2025-03-17"}, {}, id="empty-range"),
        pytest.param({"after": "2025-03-20 12:00:01"}, {"thr_date_apr": 4}, id="datetime-with-a-space"),
        pytest.param(
            {"after": "2025-03-31T00:00:00.000Z", "before": "2025-04-01T12:00:01.000Z"},
            {"thr_date_apr": 4},
            id="javascript-toISOString",
        ),
        pytest.param(
            {"after": "2025-03-31", "before": "2025-04-01T14:00:01+02:00"},
            {"thr_date_apr": 4},
            id="datetime-with-an-offset",
        ),
    ],
)
def test_a_date_range_keeps_the_messages_written_in_it(
    corpus: RunningApp, params: dict[str, str], expected: dict[str, int | None]
) -> None:
    results = {result["thread_id"]: result for result in search(corpus, "gazebo", **params)["results"]}
    assert set(results) == set(expected)
    for thread_id, month in expected.items():
        if month is not None:
            assert when(results[thread_id]["created_at"]).month == month, "the matching message in the range"


# ---- /api/search/titles: for @ references ---------------------------------------------------------------------


def test_titles_are_found_by_word_prefixes_newest_first(corpus: RunningApp) -> None:
    assert [r["title"] for r in titles(corpus, "trip")] == ["A trip planner", "Tripod reviews", "Trip to Lisbon"]
    assert [r["title"] for r in titles(corpus, "trip lis")] == ["Trip to Lisbon"]
    planner = titles(corpus, "planner")[0]
    assert planner["thread_id"] == "thr_title_planner"
    assert when(planner["created_at"]) == CREATED["thr_title_planner"]


def test_titles_ignore_accents_and_case(corpus: RunningApp) -> None:
    assert [r["thread_id"] for r in titles(corpus, "creme")] == ["thr_title_creme"]
    assert [r["thread_id"] for r in titles(corpus, "BRÛL")] == ["thr_title_creme"]


def test_an_empty_title_query_gives_the_most_recent_conversations(corpus: RunningApp) -> None:
    newest = sorted(CORPUS, key=lambda c: c.created, reverse=True)
    assert [r["thread_id"] for r in titles(corpus, "")] == [c.thread_id for c in newest[:8]]
    assert [r["thread_id"] for r in titles(corpus, "", limit=3)] == [c.thread_id for c in newest[:3]]
    assert len(titles(corpus, "", limit=20)) == 20


def test_titles_never_match_inside_a_word(corpus: RunningApp) -> None:
    assert "thr_title_stripe" not in [r["thread_id"] for r in titles(corpus, "trip")]
