"""The text side of search, without SQLite: what a typed query means, how Chinese, Japanese and Korean text is
made searchable, and the snippet shown for a hit.

FTS5's `unicode61` tokenizer (with `remove_diacritics 2`) gives case- and accent-insensitive words, phrases and
prefixes, but it reads a run of CJK characters, which has no spaces, as one word. So each message is indexed
twice over: its text as words, and its CJK runs as overlapping two-character grams (`東京都` → `東京 京都`), the
way CJK search engines do. A CJK query becomes a phrase of grams, which finds it anywhere inside a run. The
`trigram` tokenizer would find substrings too, but not those of one or two characters (most CJK words), and this
SQLite's trigram does not fold accents.

A query never reaches FTS5 as syntax: each word or quoted phrase becomes a quoted FTS string, so `AND`, `*`,
`(`, `:` or an unbalanced quote are searched as the text they are.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_QUERY_CHARS = 500
SNIPPET_CHARS = 160

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]+")
_TERM = re.compile(r'"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Term:
    """One thing the user looks for: a word (also a prefix), a quoted phrase, or a CJK run (a substring)."""

    text: str
    phrase: bool = False
    cjk: bool = False


def grams(text: str) -> str:
    """The CJK runs of `text` as space-separated two-character grams; a lone character stands for itself."""
    out: list[str] = []
    for run in _CJK.findall(text):
        out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return " ".join(out)


def parse(query: str) -> list[Term]:
    """The terms of a query as typed: quoted phrases, words, and CJK runs split out of either."""
    terms: list[Term] = []
    for quoted, bare in _TERM.findall(query):
        text = (quoted if quoted else bare).strip()
        for piece in _split_cjk(text):
            if _CJK.fullmatch(piece):
                terms.append(Term(piece, cjk=True))
            elif _WORD.search(piece):
                terms.append(Term(piece, phrase=bool(quoted)))
    return terms


def match_expression(terms: list[Term]) -> str:
    """The FTS5 query for `terms`, all of which must match: words as prefixes, phrases exactly, CJK as grams."""
    parts = []
    for term in terms:
        if term.cjk:
            parts.append(
                f"grams : {_quoted(term.text)}*" if len(term.text) == 1 else f"grams : {_quoted(grams(term.text))}"
            )
        elif term.phrase:
            parts.append(f"text : {_quoted(term.text)}")
        else:
            parts.append(" AND ".join(f"text : {_quoted(word)}*" for word in _WORD.findall(term.text)))
    return " AND ".join(f"({part})" for part in parts)


def fold(text: str) -> tuple[str, list[int]]:
    """`text` lowercased and without accents, and for each folded character the index it came from in `text`
    (so a match found in the folded text can be marked in the original)."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for part in unicodedata.normalize("NFKD", char.casefold()):
            if not unicodedata.combining(part):
                folded.append(part)
                origin.append(index)
    return "".join(folded), origin


def snippet(text: str, terms: list[Term], width: int = SNIPPET_CHARS) -> list[dict[str, object]]:
    """About `width` characters of `text` around its first match, as segments `{"text", "hit"}` with every match
    in them marked; the start of the text when nothing matches (a title hit, say)."""
    folded, origin = fold(text)
    patterns = sorted({_pattern(term) for term in terms} - {""}, key=len, reverse=True)
    spans: list[tuple[int, int]] = []
    for pattern in patterns:
        for found in re.finditer(pattern, folded):
            start, end = origin[found.start()], origin[found.end() - 1] + 1
            if not any(start < e and s < end for s, e in spans):
                spans.append((start, end))
    spans.sort()
    first = spans[0][0] if spans else 0
    begin = max(0, min(first - width // 3, len(text) - width))
    begin = _word_start(text, begin)
    finish = min(len(text), begin + width)
    segments: list[dict[str, object]] = []
    cursor = begin
    for start, end in spans:
        if start < begin or end > finish:
            continue
        if start > cursor:
            segments.append({"text": text[cursor:start], "hit": False})
        segments.append({"text": text[start:end], "hit": True})
        cursor = end
    if cursor < finish:
        segments.append({"text": text[cursor:finish], "hit": False})
    if segments and begin > 0:
        segments[0]["text"] = "…" + str(segments[0]["text"]).lstrip()
    if segments and finish < len(text):
        segments[-1]["text"] = str(segments[-1]["text"]).rstrip() + "…"
    return [_one_line(segment) for segment in segments]


def _pattern(term: Term) -> str:
    """What marks a term in folded text: a CJK run as it is, a phrase's words with anything but letters between
    them (as FTS5 reads it), the words of a bare term each on its own."""
    if term.cjk:
        return re.escape(fold(term.text)[0])
    words = [re.escape(fold(word)[0]) for word in _WORD.findall(term.text)]
    return r"\W+".join(words) if term.phrase else "|".join(words)


def _split_cjk(text: str) -> list[str]:
    pieces, last = [], 0
    for run in _CJK.finditer(text):
        pieces += [text[last : run.start()], run.group()]
        last = run.end()
    return [piece for piece in [*pieces, text[last:]] if piece.strip()]


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _word_start(text: str, index: int) -> int:
    # Start a snippet at a word, not in the middle of one (unless the word is very long).
    if index <= 0:
        return 0
    space = text.rfind(" ", max(0, index - 20), index)
    return space + 1 if space >= 0 else index


def _one_line(segment: dict[str, object]) -> dict[str, object]:
    return {"text": re.sub(r"\s+", " ", str(segment["text"])), "hit": segment["hit"]}
