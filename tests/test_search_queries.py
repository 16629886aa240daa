"""No search request breaks the server: odd queries, cursors, dates and limits are answered or refused with one
sentence, never a 500; both search routes want the token; what people search for is never logged. Against the
hand-written history of `tests/search_helpers.py` (`corpus`)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.harness import RunningApp
from tests.search_helpers import (
    MAX_QUERY_CHARS,
    found,
    get,
    one_sentence,
    search,
    titles,
)

# ---- nothing breaks it --------------------------------------------------------------------------------------

ODD_QUERIES = [
    '"unbalanced',
    'unbalanced"',
    '"',
    '""',
    '"""',
    "AND",
    "OR",
    "NOT",
    "a AND",
    "OR b",
    "NOT NOT",
    "(",
    ")",
    "())(",
    "*",
    "**",
    "*word",
    "^",
    "^start",
    ":",
    "text:",
    "text:word",
    "grams:東京",
    "-",
    "-word",
    "+",
    "+word",
    "NEAR(",
    "NEAR(a b",
    "NEAR(a b, 2)",
    "a NEAR b",
    "{text}: x",
    "'",
    "'; DROP TABLE messages; --",
    "%",
    "_",
    "\\",
    "\x00",
    "a\x00b",
    "\u200b",
    "\ufeff",
    "🙂",
    "e\u0301",
    "ﬁ",
    "ＡＢＣ",
    "東",
    "ー",
    "\t\n",
    "x" * 200,
    "word " * 99,
    MAX_QUERY_CHARS * "a",
]


@pytest.mark.parametrize("q", ODD_QUERIES, ids=range(len(ODD_QUERIES)))
def test_no_query_breaks_search(corpus: RunningApp, q: str) -> None:
    answer = search(corpus, q)
    assert isinstance(answer["results"], list)


@pytest.mark.parametrize(
    "q", ["", " ", "     ", "\t", "\u3000"], ids=["empty", "space", "spaces", "tab", "ideographic"]
)
def test_an_empty_query_finds_nothing(corpus: RunningApp, q: str) -> None:
    answer = search(corpus, q)
    assert answer["results"] == [] and answer["next_cursor"] is None


@pytest.mark.parametrize("size", [MAX_QUERY_CHARS + 1, 10_000])
def test_a_query_over_500_characters_is_refused_with_a_sentence(corpus: RunningApp, size: int) -> None:
    one_sentence(get(corpus, "/api/search", q="a" * size), 400)


def test_a_query_parameter_that_is_missing_is_refused_not_crashed(corpus: RunningApp) -> None:
    response = get(corpus, "/api/search")
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        one_sentence(response, 400)


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "20abc", "' OR 1=1 --", "0x10"])
def test_a_bad_cursor_is_refused_with_a_sentence(corpus: RunningApp, cursor: str) -> None:
    one_sentence(get(corpus, "/api/search", q="wombat", cursor=cursor), 400)


def test_a_cursor_past_the_end_gives_an_empty_page(corpus: RunningApp) -> None:
    response = get(corpus, "/api/search", q="wombat", cursor="100000")
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["results"] == [] and response.json()["next_cursor"] is None


@pytest.mark.parametrize(
    "date", ["2025-13-01", "2025-02-30", "yesterday", "01/02/2025", "2025-03-01T25:00", "2025-03-01T::", "2025"]
)
@pytest.mark.parametrize("which", ["after", "before"])
def test_a_bad_date_is_refused_with_a_sentence(corpus: RunningApp, which: str, date: str) -> None:
    one_sentence(get(corpus, "/api/search", q="gazebo", **{which: date}), 400)


@pytest.mark.parametrize("limit", ["0", "51", "-3", "abc", "1e3", "2.5"])
@pytest.mark.parametrize("route", ["/api/search", "/api/search/titles"])
def test_a_limit_out_of_range_is_refused_or_kept_in_range(corpus: RunningApp, route: str, limit: str) -> None:
    response = get(corpus, route, q="wombat" if route == "/api/search" else "sighting", limit=limit)
    if response.status_code == 400:
        one_sentence(response, 400)
    else:
        assert response.status_code == 200, (response.status_code, response.text)
        assert 1 <= len(response.json()["results"]) <= (50 if route == "/api/search" else 20)


@pytest.mark.parametrize("q", ['"', "NEAR(", "*", "\x00", "a" * 10_000, "x" * 600])
def test_odd_title_queries_never_break_the_server(corpus: RunningApp, q: str) -> None:
    response = get(corpus, "/api/search/titles", q=q)
    assert response.status_code in (200, 400), (response.status_code, response.text)
    if response.status_code == 400:
        one_sentence(response, 400)


def test_after_every_odd_request_the_server_still_answers_and_logged_no_traceback(corpus: RunningApp) -> None:
    for q in ODD_QUERIES:
        get(corpus, "/api/search", q=q)
    with corpus.client() as client:
        raw = client.get("/api/search?q=%FF%FE%22&cursor=%C0")  # bytes that are not UTF-8
        assert raw.status_code in (200, 400), raw.text
    assert found(corpus, "picnic") == ["thr_roles"]
    assert get(corpus, "/health").status_code == 200
    assert "Traceback" not in corpus.stderr, corpus.stderr[-3000:]
    assert corpus.proc.poll() is None


# ---- the token, and privacy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/api/search", "/api/search/titles"])
@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Basic Zm9vOmJhcg=="])
def test_search_needs_the_token(corpus: RunningApp, route: str, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    response = httpx.get(f"{corpus.base}{route}", params={"q": "picnic"}, headers=headers)
    assert response.status_code == 401
    assert "picnic" not in response.text and "thr_roles" not in response.text


def test_what_people_search_for_is_never_logged(corpus: RunningApp) -> None:
    search(corpus, "secretsearchword")
    titles(corpus, "secrettitleword")
    httpx.get(f"{corpus.base}/api/search", params={"q": "secretrefusedword"})
    get(corpus, "/api/search", q="secretlongword" * 50)
    time.sleep(0.2)
    for word in ("secretsearchword", "secrettitleword", "secretrefusedword", "secretlongword"):
        assert word not in corpus.stderr
