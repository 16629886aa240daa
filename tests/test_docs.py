"""The README says what the code does: the parts of it that can be checked against the code are.

- the pasted `chatkit-desktop --help` is the command's real help, character for character;
- every `CHATKIT_DESKTOP_*` variable the code reads and every provider's key variable is documented;
- the routes table lists every route the app serves, with who may call it, and no route it does not serve;
- the contributor part's file list names every module of `backend/`, `desktop/` and `web/` and every test
  module, and nothing that does not exist.

All in process: the parser, the provider table and the app are built here, never run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

from backend import config, providers
from backend.app import create_app
from backend.config import AppConfig
from backend.security import TokenOrCapability, require_token
from desktop.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

HELP_COLUMNS = "80"
"""The terminal width the README's help was pasted at (argparse wraps the options to it)."""
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCED_BLOCK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def section(heading: str) -> str:
    """The README's text under `heading` (a whole heading line), up to the next heading of the same or a
    higher level."""
    level = heading.split(" ", 1)[0]
    lines = README.split("\n")
    start = lines.index(heading) + 1
    for end in range(start, len(lines)):
        marks = lines[end].split(" ", 1)[0]
        if marks and set(marks) == {"#"} and len(marks) <= len(level):
            return "\n".join(lines[start:end])
    return "\n".join(lines[start:])


def pasted_output(command: str) -> str:
    """What the README shows after `$ <command>` in a code block, up to the block's end."""
    lines = README.split("\n")
    start = lines.index(f"$ {command}") + 1
    end = lines.index("```", start)
    return "\n".join(lines[start:end]) + "\n"


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in `text`, header and rule rows left out."""
    rows = []
    for line in text.split("\n"):
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: ") or cells[0] == "route":
            continue
        rows.append(cells)
    return rows


# ---- the command line -----------------------------------------------------------------------------------


def test_the_readmes_help_is_the_commands_real_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", HELP_COLUMNS)
    assert pasted_output("chatkit-desktop --help") == build_parser().format_help()


# ---- the environment ------------------------------------------------------------------------------------


def test_every_chatkit_desktop_variable_the_code_reads_is_documented() -> None:
    named = {value for name, value in vars(config).items() if name.startswith("ENV_")}
    for source in [*(ROOT / "backend").rglob("*.py"), *(ROOT / "desktop").rglob("*.py")]:
        named |= set(re.findall(r"\bCHATKIT_DESKTOP_[A-Z0-9_]+\b", source.read_text(encoding="utf-8")))
    assert named, "no CHATKIT_DESKTOP_* variable found in the code"
    missing = sorted(name for name in named if name not in README)
    assert not missing, f"not in the README: {missing}"


def test_every_providers_key_variable_is_documented() -> None:
    keys = {info.env_key for info in providers.PROVIDERS.values() if info.env_key}
    assert keys >= {"GEMINI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"}
    missing = sorted(name for name in keys if name not in README)
    assert not missing, f"not in the README: {missing}"


# ---- the routes -----------------------------------------------------------------------------------------


def served_routes(tmp_path: Path) -> dict[tuple[str, str], str]:
    """Every (method, path) the app answers, `{rest:path}` written `*`, and who may call it: `open`, `token`, or
    `token or capability` (`security.TokenOrCapability`)."""
    app = create_app(AppConfig(data_dir=tmp_path, token="docs-test-token", port=8765))
    served: dict[tuple[str, str], str] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            # The page's static files: StaticFiles answers GET (and HEAD) on anything under the mount.
            served[("GET", route.path + "/*")] = "open"
            continue
        assert isinstance(route, APIRoute), f"a route of an unexpected kind: {route!r}"
        path = re.sub(r"\{[^}]*:path\}", "*", route.path)
        dependencies = [dependency.dependency for dependency in route.dependencies]
        who = "open"
        if require_token in dependencies:
            who = "token"
        elif any(isinstance(dependency, TokenOrCapability) for dependency in dependencies):
            who = "token or capability"
        for method in (route.methods or set()) & METHODS:
            served[(method, path)] = who
    return served


def documented_routes() -> dict[tuple[str, str], str]:
    """Every (method, path) the README's routes table lists, with its "who" cell (`open` or `token`).

    A row's first cell holds code spans that are a path, a method, or a method and a path (`GET`/`PUT
    /api/settings`); "any method" covers every method.
    """
    documented: dict[tuple[str, str], str] = {}
    for cells in table_rows(section("### HTTP routes")):
        route, who = cells[0], cells[1]
        words = [word for span in CODE_SPAN.findall(route) for word in span.split()]
        methods = set(METHODS) if "any method" in route else {w for w in words if w in METHODS}
        paths = [w.rstrip(",") for w in words if w.startswith("/")]
        assert methods and paths, f"a routes table row without a method or a path: {route}"
        for method in methods:
            for path in paths:
                documented[(method, path)] = who
    return documented


def test_every_route_the_app_serves_is_in_the_readmes_routes_table(tmp_path: Path) -> None:
    documented = documented_routes()
    missing = sorted(f"{method} {path}" for method, path in served_routes(tmp_path) if (method, path) not in documented)
    assert not missing, f"served but not in the README's routes table: {missing}"


def test_the_routes_table_says_which_routes_need_the_token(tmp_path: Path) -> None:
    documented = documented_routes()
    wrong = sorted(
        f"{method} {path}: README says {documented[(method, path)]!r}"
        for (method, path), who in served_routes(tmp_path).items()
        if (method, path) in documented and documented[(method, path)] != who
    )
    assert not wrong, wrong


def test_the_routes_table_lists_no_route_the_app_does_not_serve(tmp_path: Path) -> None:
    served = served_routes(tmp_path)
    extra = sorted(f"{method} {path}" for method, path in documented_routes() if (method, path) not in served)
    assert not extra, f"in the README's routes table but not served: {extra}"


# ---- the file list --------------------------------------------------------------------------------------


def named_files(text: str) -> set[str]:
    """The repository paths named in code spans in `text`, outside code blocks (files, not folders)."""
    spans = CODE_SPAN.findall(FENCED_BLOCK.sub("", text))
    return {span for span in spans if re.fullmatch(r"(backend|desktop|web|tests)/[\w./-]*\.\w+", span)}


def code_files() -> set[str]:
    """The modules a contributor must find in the layout: every module but the packages' `__init__.py`, and
    every file of the page."""
    modules = {
        path
        for folder in ("backend", "desktop")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "__init__.py" and "assets" not in path.parts
    }
    page = {path for path in (ROOT / "web").iterdir() if path.is_file()}
    return {path.relative_to(ROOT).as_posix() for path in modules | page}


def test_the_layout_names_every_module_of_the_app() -> None:
    missing = sorted(code_files() - named_files(section("### Layout")))
    assert not missing, f"not in the README's Layout: {missing}"


def test_the_tests_section_names_every_test_module() -> None:
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "tests").glob("test_*.py")}
    missing = sorted(modules - named_files(section("### Tests")))
    assert not missing, f"not in the README's Tests: {missing}"


def test_every_file_the_contributor_part_names_exists() -> None:
    named = named_files(section("## For contributors"))
    assert named, "the contributor part names no file"
    gone = sorted(path for path in named if not (ROOT / path).is_file())
    assert not gone, f"named in the README but not in the repository: {gone}"
