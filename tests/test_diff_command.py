"""`crawler diff` as a reader uses it: word diff markers when piped, a header and only the
changed paragraphs with context, `--context N` / `--full`, nothing to compare for one version,
and no control code from a page ever reaching the terminal."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from crawler.commands.diff import Gap, shown
from crawler.diffing import paragraph_diff
from crawler.models import Content
from crawler.store.sqlite import SQLiteStore
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.textnorm import content_hash, make_content
from tests.store_backends import T0, event

URL = "https://news.example/a/1"
PARAS = [f"Paragraph {n} says something unremarkable about the storm." for n in range(1, 9)]


def _as_written(title: str, text: str) -> Content:
    """A version stored exactly as given, control characters included: as a database from a
    crawler that did not drop them holds it, so that printing is tested on its own."""
    return Content(title=title, text=text, content_hash=content_hash(title, text))


async def _store_versions(db: Path, versions: list[tuple[str, str]]) -> None:
    store = SQLiteStore(db)
    await store.migrate()
    await store.open()
    try:
        first = _as_written(*versions[0])
        article = await store.create_article(
            extractor_version=1, canonical_url=URL, url=URL, feed_url="https://news.example/rss",
            content=first, event=event(endpoints=()), seen_at=T0, next_check_at=None)
        for n, (title, text) in enumerate(versions[1:], start=1):
            await store.add_version(article.article_id, content=_as_written(title, text),
                                    event=None, fetched_at=T0 + timedelta(hours=n),
                                    next_check_at=None, extractor_version=1)
    finally:
        await store.close()


def stored(tmp_path: Path, versions: list[tuple[str, str]]) -> Path:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    asyncio.run(_store_versions(tmp_path / "crawler.db", versions))
    return config


def crawler(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CRAWLER_CMD, *args, "--config", str(config)], cwd=config.parent,
                          env=subprocess_env(), capture_output=True, text=True, timeout=60,
                          check=False)


def on_terminal(config: Path, *args: str) -> str:
    """The command's output as a terminal shows it (stdout is a pseudo-terminal)."""
    leader, follower = pty.openpty()
    env = subprocess_env(COLUMNS="200", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([*CRAWLER_CMD, *args, "--config", str(config)], cwd=config.parent,
                            env=env, stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    return b"".join(chunks).decode()


def edited(text_paras: list[str], index: int, old: str, new: str) -> str:
    paras = list(text_paras)
    paras[index] = paras[index].replace(old, new)
    return "\n\n".join(paras)


def test_piped_words_mark_removed_and_added_text(tmp_path: Path) -> None:
    text = "\n\n".join(PARAS)
    config = stored(tmp_path, [
        ("Storm hits coast", text.replace("storm.", "storm, with delays of up to forty minutes.")),
        ("Storm hits coast", text.replace("storm.", "storm, with delays of up to fifty minutes.")
         + "\n\nA new paragraph was added."),
    ])
    result = crawler(config, "diff", URL, "--format", "words")
    assert result.returncode == 0, result.stderr
    assert "delays of up to [-forty-]{+fifty+} minutes" in result.stdout
    assert "\n\n{+A new paragraph was added.+}" in result.stdout


def test_words_show_a_header_and_only_changed_paragraphs_with_context(tmp_path: Path) -> None:
    text = "\n\n".join(PARAS)
    config = stored(tmp_path, [("Storm hits coast", text),
                               ("Storm hits coast", edited(PARAS, 4, "storm", "gale"))])
    out = crawler(config, "diff", URL, "--format", "words").stdout
    lines = out.splitlines()
    assert lines[0] == URL
    assert lines[1] == ("version 1 (2026-11-26 12:00:00 UTC) -> "
                        "version 2 (2026-11-26 13:00:00 UTC)")
    assert "Storm hits coast" in out  # the headline always comes first
    assert "Paragraph 5 says something unremarkable about the [-storm-]{+gale+}." in out
    assert "Paragraph 4" in out and "Paragraph 6" in out  # one paragraph of context
    assert "Paragraph 3" not in out and "Paragraph 7" not in out
    assert "(... 3 unchanged paragraphs)" in out and "(... 2 unchanged paragraphs)" in out

    wider = crawler(config, "diff", URL, "--format", "words", "--context", "2").stdout
    assert "Paragraph 3" in wider and "Paragraph 7" in wider and "Paragraph 2" not in wider
    full = crawler(config, "diff", URL, "--format", "words", "--full").stdout
    assert all(f"Paragraph {n} " in full for n in range(1, 9)) and "unchanged" not in full
    unified = crawler(config, "diff", URL, "--format", "unified", "--context", "0").stdout
    assert "-Paragraph 5" in unified and "Paragraph 4" not in unified


def test_context_and_full_exclude_each_other_and_context_is_not_negative(tmp_path: Path) -> None:
    config = stored(tmp_path, [("A", "one"), ("A", "two")])
    assert crawler(config, "diff", URL, "--context", "1", "--full").returncode == 2
    assert crawler(config, "diff", URL, "--context", "-1").returncode == 2


def test_the_same_version_twice_is_nothing_to_compare(tmp_path: Path) -> None:
    config = stored(tmp_path, [("A", "one"), ("A", "two")])
    result = crawler(config, "diff", URL, "--from", "2", "--to", "2")
    assert result.returncode == 0 and result.stdout == ""
    assert "nothing to compare" in result.stderr
    missing = crawler(config, "diff", URL, "--from", "2", "--to", "5")
    assert missing.returncode == 1 and "version 5 is not stored" in missing.stderr
    assert crawler(config, "diff", "https://news.example/unknown").returncode == 1


def test_on_a_terminal_the_diff_is_coloured_and_headed(tmp_path: Path) -> None:
    text = "\n\n".join(PARAS)
    config = stored(tmp_path, [("Storm hits coast", text),
                               ("Storm hits coast", edited(PARAS, 4, "storm", "gale"))])
    out = on_terminal(config, "diff", URL)
    assert "version 1 (2026-11-26 12:00:00 UTC) -> version 2 (2026-11-26 13:00:00 UTC)" in out
    assert "\x1b[" in out  # colour
    assert "[-" not in out and "{+" not in out
    assert "gale" in out and "Paragraph 2" not in out


HOSTILE_TITLE = "Storm \x1b]0;pwned\x07hits \x1b[2Jcoast\x9b31m"


@pytest.mark.parametrize("fmt", ["words", "unified", "json"])
def test_control_codes_from_a_page_never_reach_the_output(tmp_path: Path, fmt: str) -> None:
    config = stored(tmp_path, [(HOSTILE_TITLE, "Calm \x1b[31mtext."),
                               (HOSTILE_TITLE + "!", "Calm \x1b[31mtext, again.")])
    out = crawler(config, "diff", URL, "--format", fmt).stdout
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    assert "pwned" in out


def test_control_codes_are_escaped_on_a_terminal_and_in_history(tmp_path: Path) -> None:
    config = stored(tmp_path, [(HOSTILE_TITLE, "Calm \x1b[31mtext."),
                               (HOSTILE_TITLE + "!", "Calm \x1b[31mtext, again.")])
    out = on_terminal(config, "diff", URL)
    assert "\\x1b]0;pwned" in out and "\x1b]0;" not in out and "\x1b[2J" not in out
    assert "\x9b" not in out
    history = on_terminal(config, "history", URL)
    assert "\x1b]0;" not in history and "pwned" in history
    piped = crawler(config, "history", URL).stdout
    assert "\x1b" not in piped and "\\x1b[2Jcoast" in piped


def test_shown_keeps_the_headline_and_folds_unchanged_runs() -> None:
    old = make_content("Title", "\n\n".join(PARAS))
    new = make_content("Title", edited(PARAS, 7, "storm", "gale"))
    items = shown(paragraph_diff(old, new), 1)
    assert isinstance(items[1], Gap) and items[1].count == 6
    assert len(items) == 4 and not isinstance(items[2], Gap) and items[3].changed  # type: ignore[union-attr]
    assert len(shown(paragraph_diff(old, new), None)) == 9


def test_paragraph_diff_pairs_replaced_paragraphs_one_to_one() -> None:
    old = make_content("T", "one two\n\nthree four\n\nfive")
    new = make_content("T", "one 2\n\nthree 4\n\nfive")
    blocks = paragraph_diff(old, new)
    assert [b.changed for b in blocks] == [False, True, True, False]
    assert [(c.op, c.text) for c in blocks[1].changes] == [
        ("equal", "one "), ("delete", "two"), ("insert", "2")]


def test_paragraph_diff_pairs_edited_paragraphs_around_added_and_removed_ones() -> None:
    old = make_content("T", "Alpha beta gamma delta.\n\nGone entirely, nothing alike.\n\n"
                            "Epsilon zeta eta theta.")
    new = make_content("T", "Alpha beta gamma delta!\n\nA brand new paragraph here.\n\n"
                            "Epsilon zeta eta theta!\n\nAnother one.")
    ops = [[(c.op, c.text) for c in b.changes] for b in paragraph_diff(old, new)[1:]]
    assert ops == [
        [("equal", "Alpha beta gamma delta"), ("delete", "."), ("insert", "!")],
        [("delete", "Gone entirely, nothing alike.")],
        [("insert", "A brand new paragraph here.")],
        [("equal", "Epsilon zeta eta theta"), ("delete", "."), ("insert", "!")],
        [("insert", "Another one.")],
    ]


def test_json_describes_the_edit_as_the_event_does(tmp_path: Path) -> None:
    config = stored(tmp_path, [("Storm hits coast", "12 homes were damaged. Water rose."),
                               ("Storm hits coast", "20 homes were damaged. Water rose.")])
    result = crawler(config, "diff", URL, "--format", "json")
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert changes["sentences"] == {"added": 0, "deleted": 0, "edited": 1, "moved": 0}
    assert "number" in changes["kinds"] and changes["title"] is False
