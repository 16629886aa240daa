"""The ChatKit face's options against ChatKit's published types, checked by TypeScript's tsc.

`web/face-chatkit.js` opts in with `// @ts-check` and names its options' types from the npm package
`@openai/chatkit` (type declarations only), so an option name or shape ChatKit does not know fails here rather
than in a user's window. The package and `typescript` are for the tests only: pinned in
tests/typecheck/package.json and package-lock.json, installed by `npm ci` into tests/typecheck/node_modules
(ignored by git, installed again only when the lock file changes). Nothing from npm is served in web/.

Needs Node.js and npm (Debian's `nodejs` and `npm`, which .ci/run installs); without them these tests fail
and say so.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import ROOT

TYPECHECK = ROOT / "tests" / "typecheck"
MODULES = TYPECHECK / "node_modules"
TSC = MODULES / "typescript" / "bin" / "tsc"
CHATKIT_TYPES = MODULES / "@openai" / "chatkit" / "types"
# Prints the PROMPTS of the module whose address is its first argument, as JSON.
READ_PROMPTS = "const { PROMPTS } = await import(process.argv[1]); console.log(JSON.stringify(PROMPTS));"
# Written after a successful `npm ci`: the lock file it installed, so a changed lock file installs again.
STAMP = MODULES / ".installed-lock-sha256"


def node_and_npm() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail(
            "The ChatKit type check needs Node.js and npm (`node` and `npm` on PATH; Debian packages `nodejs` "
            "and `npm`, which .ci/run installs).",
            pytrace=False,
        )
    return node, npm


def lock_digest() -> str:
    return hashlib.sha256((TYPECHECK / "package-lock.json").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def node() -> str:
    """Node.js, with tests/typecheck's packages installed as its lock file pins them."""
    node, npm = node_and_npm()
    installed = STAMP.read_text().strip() if STAMP.is_file() else ""
    if installed != lock_digest() or not TSC.is_file():
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=TYPECHECK,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.fail(f"`npm ci` in {TYPECHECK} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
        STAMP.write_text(lock_digest())
    return node


def tsc(node: str, config: Path) -> tuple[int, str]:
    """Run tsc on a tsconfig; returns its exit status and its diagnostics."""
    done = subprocess.run(
        [node, str(TSC), "--project", str(config), "--pretty", "false"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def config_for(tmp_path: Path, *files: Path) -> Path:
    """A tsconfig in tmp_path with tests/typecheck's settings, checking `files` (and ChatKit's DOM types)."""
    config = tmp_path / "tsconfig.json"
    files_ = [str(CHATKIT_TYPES / "dom-augment.d.ts"), *map(str, files)]
    config.write_text(json.dumps({"extends": str(TYPECHECK / "tsconfig.json"), "files": files_}))
    return config


def test_the_chatkit_faces_options_are_ones_chatkit_knows(node: str) -> None:
    status, output = tsc(node, TYPECHECK / "tsconfig.json")
    assert (status, output) == (0, ""), output


def test_an_option_chatkit_does_not_know_fails_the_check(node: str, tmp_path: Path) -> None:
    web = shutil.copytree(ROOT / "web", tmp_path / "web")
    face = web / "face-chatkit.js"
    source = face.read_text()
    assert source.count("uploadStrategy:") == 1
    face.write_text(source.replace("uploadStrategy:", "uploadStrateg:"))
    status, output = tsc(node, config_for(tmp_path, face))
    assert status != 0
    errors = [line for line in output.splitlines() if ": error TS" in line]
    assert len(errors) == 1 and "'uploadStrateg' does not exist" in errors[0], output


def test_the_starter_prompts_are_start_screen_prompts_chatkit_knows(node: str, tmp_path: Path) -> None:
    # starters.js is plain JS, so the face hands its prompts on with a cast; here they are read as data and
    # typed as ChatKit's StartScreenPrompt (label, prompt, and an icon of ChatKit's).
    source = base64.b64encode((ROOT / "web" / "starters.js").read_bytes()).decode()
    read = subprocess.run(
        [node, "--input-type=module", "--eval", READ_PROMPTS, f"data:text/javascript;base64,{source}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    prompts = json.loads(read.stdout)
    assert prompts, "starters.js has no PROMPTS"
    checked = tmp_path / "prompts.ts"
    checked.write_text(
        "import type { StartScreenPrompt } from '@openai/chatkit';\n"
        f"export const prompts: StartScreenPrompt[] = {json.dumps(prompts, indent=2)};\n"
    )
    status, output = tsc(node, config_for(tmp_path, checked))
    assert (status, output) == (0, ""), output
