"""web/markdown.js in a real browser (Debian's Chromium, Playwright): answers rendered as elements, HTML and
unsafe links in a message left inert, and the HTML the renderer builds for tricky input.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser import ANSWER_TIMEOUT, Watch, last_answer, open_builtin, screenshot, send, wait_idle
from tests.harness import RunningApp


def test_html_and_javascript_links_render_inert(page: Page, watch: Watch, app: RunningApp) -> None:
    open_builtin(page, app)
    send(page, "<img src=x onerror=alert(1)>")
    expect(last_answer(page)).to_contain_text("You said: <img src=x onerror=alert(1)>", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    expect(page.locator(".msg-user .bubble").last).to_have_text("<img src=x onerror=alert(1)>")
    send(page, "[x](javascript:alert(1)) and <javascript:alert(2)> and [y](data:text/html,<b>hi</b>)")
    expect(last_answer(page)).to_contain_text("[x](javascript:alert(1))", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    messages = page.locator(".messages")
    expect(messages.locator("img")).to_have_count(0)
    expect(messages.locator("b")).to_have_count(0)
    expect(messages.locator("a")).to_have_count(0)
    assert (
        page.evaluate(
            "[...document.querySelectorAll('[href]')].filter(e => /^\\s*(javascript|data):/i"
            ".test(e.getAttribute('href'))).length"
        )
        == 0
    )
    assert (
        page.evaluate(
            "[...document.querySelectorAll('*')].some(e => [...e.attributes].some(a => a.name.startsWith('on')))"
        )
        is False
    )
    page.locator(".msg-assistant .md").last.click()
    page.wait_for_timeout(300)
    assert watch.dialogs == []


def test_markdown_renders_as_elements(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    send(
        page,
        "Here:\n\n- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n```python\nprint('hi')\n```\n\n"
        "See [the site](https://example.com/docs) and `inline code`",
    )
    answer = last_answer(page)
    expect(answer.locator("pre code")).to_have_text("print('hi')", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    expect(answer.locator("ul > li")).to_have_text(["one", "two"])
    expect(answer.locator("ol > li")).to_have_text(["first", "second"])
    expect(answer.locator("blockquote")).to_have_text("quoted")
    expect(answer.locator("p code")).to_have_text("inline code")
    link = answer.get_by_role("link", name="the site")
    expect(link).to_have_attribute("href", "https://example.com/docs")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    assert answer.locator("pre").evaluate("e => getComputedStyle(e).overflowX") == "auto"
    screenshot(page, "builtin-markdown-light")
    assert "monospace" in answer.locator("pre code").evaluate("e => getComputedStyle(e).fontFamily")


def test_markdown_renderer_cases(page: Page, app: RunningApp) -> None:
    """The renderer on its own, in the browser: the HTML it builds for tricky input."""
    open_builtin(page, app)
    link = 'rel="noopener noreferrer" target="_blank"'
    cases = {
        "# Title\n\ntext": "<h1>Title</h1><p>text</p>",
        "**b** *i* _u_ ~~s~~ snake_case_name": "<p><strong>b</strong> <em>i</em> <em>u</em> <del>s</del> "
        "snake_case_name</p>",
        "<script>alert(1)</script>": "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
        "[a](javascript:alert(1))": "<p>[a](javascript:alert(1))</p>",
        "[a](JaVaScRiPt:alert(1))": "<p>[a](JaVaScRiPt:alert(1))</p>",
        "[a](/relative)": "<p>[a](/relative)</p>",
        "![pic](https://example.com/p.png)": f'<p><a href="https://example.com/p.png" {link}>🖼 pic</a></p>',
        "mail [me](mailto:a@b.c)": f'<p>mail <a href="mailto:a@b.c" {link}>me</a></p>',
        "- a\n  - b\n- c": "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>",
        "- a\n- b\n\n1. c\n2. d": "<ul><li>a</li><li>b</li></ul><ol><li>c</li><li>d</li></ol>",
        "- a\n\n- b": "<ul><li><p>a</p></li><li><p>b</p></li></ul>",
        "3. x\n4. y": '<ol start="3"><li>x</li><li>y</li></ol>',
        "> **q**\n> more": "<blockquote><p><strong>q</strong><br>more</p></blockquote>",
        "## Sub ##": "<h2>Sub</h2>",
        "a\n\n---\n\nb": "<p>a</p><hr><p>b</p>",
        "see https://example.com/x.": f'<p>see <a href="https://example.com/x" {link}>https://example.com/x</a>.</p>',
        "2 * 3 * 4": "<p>2 * 3 * 4</p>",
        "a | b\n---": "<p>a | b</p><hr>",
        "```\n<b>x</b>\n": "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>",
        "| a | b |\n|---|---|\n| 1 | 2 |": '<div class="table-wrap"><table><thead><tr><th>a</th><th>b</th>'
        "</tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table></div>",
        "line one\nline two": "<p>line one<br>line two</p>",
        'a "quote" & <tag>': '<p>a "quote" &amp; &lt;tag&gt;</p>',
    }
    rendered = page.evaluate(
        """async (cases) => {
            const { renderMarkdown } = await import('/markdown.js');
            const out = {};
            for (const text of cases) {
                const div = document.createElement('div');
                div.append(renderMarkdown(text));
                out[text] = div.innerHTML;
            }
            return out;
        }""",
        list(cases),
    )
    for text, html in cases.items():
        assert rendered[text] == html, f"{text!r} rendered as {rendered[text]!r}"
