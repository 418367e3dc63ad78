"""The `crawler` command line (CONTRACT.md, "Install and commands")."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from crawler import __version__
from crawler.config import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_PATH,
    ConfigError,
    Settings,
    load_config,
    resolve_config_path,
)

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's own (absent) --config must not reset one given before it.
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="config file (default: $CRAWLER_CONFIG, then config/crawler.toml)")
    parser = argparse.ArgumentParser(
        prog="crawler", parents=[common],
        description="News crawler and change monitor: polls feeds, follows entries to their "
                    "articles, keeps every version and sends signed webhooks for changes.",
    )
    parser.add_argument("--version", action="version", version=f"crawler {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="run the daemon until SIGTERM/SIGINT")
    sub.add_parser("once", parents=[common],
                   help="one full pass: poll feeds, check due articles, attempt deliveries")
    sub.add_parser("check-config", parents=[common], help="validate the config and print it")
    extract = sub.add_parser("extract", parents=[common],
                             help="extract articles from local HTML files (no network)")
    extract.add_argument("files", nargs="+", metavar="FILE")
    extract.add_argument("--url", help="the URL the pages were fetched from")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", dest="as_json",
                         help="JSON output: one document, or one JSON line per listed item")
    reading = [common, as_json]
    history = sub.add_parser("history", parents=reading,
                             help="the stored versions of one article, its deletions and "
                                  "restorations")
    history.add_argument("url", metavar="ARTICLE", help=ARTICLE_HELP)
    show = sub.add_parser("show", parents=reading,
                          help="the headline and text of one stored version")
    show.add_argument("url", metavar="ARTICLE", help=ARTICLE_HELP)
    show.add_argument("--version", dest="version_number", type=int, metavar="N",
                      help="the version to show (default: the latest)")
    articles = sub.add_parser("articles", parents=reading,
                              help="tracked articles, the most recently first seen first")
    articles.add_argument("--search", metavar="TEXT",
                          help="only articles whose title contains TEXT")
    articles.add_argument("--feed", metavar="URL", help="only articles first seen in this feed")
    articles.add_argument("--limit", type=_positive, default=50, metavar="N",
                          help="at most N articles (default: 50)")
    changes = sub.add_parser("changes", parents=reading,
                             help="the latest events across all articles, newest first")
    changes.add_argument("--since", type=_duration, metavar="DURATION",
                         help='only events of the last DURATION ("30m", "2h", "7d")')
    changes.add_argument("--type", dest="event_type", metavar="TYPE",
                         help='only events of this type ("article.edited", or "edited")')
    changes.add_argument("--feed", metavar="URL", help="only events of articles of this feed")
    changes.add_argument("--limit", type=_positive, default=50, metavar="N",
                         help="at most N events (default: 50)")
    compare = sub.add_parser("compare", parents=[common],
                             help="what the daemon would announce if a page went from OLD to "
                                  "NEW (local files, nothing stored)")
    compare.add_argument("old", metavar="OLD.html")
    compare.add_argument("new", metavar="NEW.html")
    compare.add_argument("--url", help="the URL the pages were fetched from")
    diff = sub.add_parser("diff", parents=reading, help="the diff between two stored versions "
                                                        "(--json: as --format json)")
    diff.add_argument("url", metavar="ARTICLE", help=ARTICLE_HELP)
    diff.add_argument("--from", dest="from_version", type=int, metavar="N")
    diff.add_argument("--to", dest="to_version", type=int, metavar="M")
    diff.add_argument("--format", choices=("auto", "unified", "words", "json"), default="auto",
                      help="auto: coloured word diff on a terminal, unified diff when piped; "
                           "words, piped: [-removed-]{+added+}")
    around = diff.add_mutually_exclusive_group()
    around.add_argument("--context", type=_count, metavar="N",
                        help="unchanged paragraphs (words) or lines (unified) shown around "
                             "each change (default: 1 paragraph, 3 lines)")
    around.add_argument("--full", action="store_true", help="the whole text, not only changes")
    sub.add_parser("status", parents=reading,
                   help="feeds, articles and deliveries as stored (works while the daemon runs)")
    sub.add_parser("migrate", parents=[common],
                   help="apply pending schema migrations and print the schema version")
    backup = sub.add_parser("backup", parents=[common],
                            help="online, consistent copy of the database")
    backup.add_argument("path", metavar="PATH", help="the copy to write (must not exist)")
    deliveries = sub.add_parser("deliveries", parents=reading,
                                help="list pending and failed deliveries and endpoint health")
    deliveries_sub = deliveries.add_subparsers(dest="action", metavar="ACTION")
    replay = deliveries_sub.add_parser("replay", parents=[common],
                                       help="queue deliveries again (same event ids)")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--event", dest="event_id", metavar="ID", help="one event, every endpoint")
    which.add_argument("--failed", action="store_true", help="every failed delivery")
    replay.add_argument("--endpoint", metavar="URL", help="only deliveries to this endpoint")
    resume = deliveries_sub.add_parser("resume", parents=[common],
                                       help="resume a paused or disabled (410) endpoint")
    resume.add_argument("--endpoint", metavar="URL", required=True,
                        help="the endpoint as `crawler deliveries` shows it (or its full URL)")
    retarget = deliveries_sub.add_parser(
        "retarget", parents=[common],
        help="move an endpoint's backlog to another configured endpoint (a changed URL)")
    retarget.add_argument("--from", dest="from_endpoint", metavar="URL", required=True,
                          help="the old endpoint, as `crawler deliveries` shows it (or its URL)")
    retarget.add_argument("--to", dest="to_endpoint", metavar="URL", required=True,
                          help="a [[webhooks]] url of the config")
    webhooks = sub.add_parser("webhooks", parents=[common], help="webhook endpoints")
    webhooks_sub = webhooks.add_subparsers(dest="action", metavar="ACTION", required=True)
    test = webhooks_sub.add_parser("test", parents=[common],
                                   help="send one signed webhook.test event to each endpoint now "
                                        "and print each answer")
    test.add_argument("--endpoint", metavar="URL",
                      help="only this endpoint (its URL, or as `crawler deliveries` shows it)")
    return parser


ARTICLE_HELP = ("the article's id, or any URL known to lead to it (as a browser shows it or "
                "percent-encoded, tracking parameters ignored)")

# Commands that need only [storage]: the reading commands (CONTRACT.md), and the two that
# look after the database file itself. An entry of [[webhooks]], [[notify]] or [[feeds]]
# naming an unset variable does not stop them; the commands that deliver or queue
# deliveries (run, once, webhooks test, deliveries replay/resume/retarget) still refuse.
_STORAGE_ONLY = frozenset({"history", "diff", "show", "articles", "changes", "status",
                           "migrate", "backup"})


def _is_reading(args: argparse.Namespace) -> bool:
    if args.command == "deliveries":
        return args.action is None  # the listing; replay and resume queue deliveries
    return args.command in _STORAGE_ONLY


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def _duration(value: str) -> float:
    from crawler.units import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {number}")
    return number


def _load(args: argparse.Namespace) -> Settings:
    path = resolve_config_path(args.config)
    return load_config(path, reading=_is_reading(args))


def _load_if_present(args: argparse.Namespace) -> Settings | None:
    """The config for a command that also works without one (`extract`, `compare`: site rules
    only):
    None when none was named (--config, $CRAWLER_CONFIG) and the default file does not exist.
    A named file that is missing, or any invalid one, is an error: extracting without the
    rules the operator meant would print hashes the daemon never stores."""
    if not args.config and not os.environ.get(CONFIG_ENV_VAR) and not DEFAULT_CONFIG_PATH.exists():
        return None
    return _load(args)


# A reader that stopped reading (`crawler changes | head`): the exit status of a program killed
# by SIGPIPE, as the shell's own tools give it.
EXIT_PIPE_CLOSED = 128 + 13


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # Whatever is still buffered can go nowhere: point stdout at /dev/null so that the
        # interpreter's own flush at exit does not fail (and print a traceback) again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE_CLOSED
    return code


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    args.config = getattr(args, "config", None)
    if args.command in ("extract", "compare"):  # files on disk; a config only for its rules
        try:
            rules_from = _load_if_present(args)
        except ConfigError as exc:
            print(f"crawler: invalid config: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        if args.command == "extract":
            from crawler.commands.extract import extract_files

            return extract_files([Path(f) for f in args.files], args.url, rules_from)
        from crawler.commands.compare import compare_files

        return compare_files(Path(args.old), Path(args.new), args.url, rules_from)
    try:
        settings = _load(args)
    except ConfigError as exc:
        print(f"crawler: invalid config: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        from crawler.commands.check_config import describe

        print(describe(settings, resolve_config_path(args.config)))
        return EXIT_OK

    from crawler.logging_setup import configure_logging

    # The daemon and a pass log to stdout (the journal under systemd); the reading commands
    # keep stdout for their output and log to stderr.
    log_stream = sys.stdout if args.command in ("run", "once") else sys.stderr
    try:
        configure_logging(settings.logging, stream=log_stream)
    except OSError as exc:
        print(f"crawler: invalid config: logging.file: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from crawler.httpapi import ListenError
    from crawler.store import StoreError

    try:
        return _dispatch(args, settings, log_stream)
    except StoreError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return _store_exit(args.command, exc)
    except ListenError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _store_exit(command: str, exc: Exception) -> int:
    """CONTRACT.md: a reading command on a database of another schema version exits 2; a
    daemon too (restarting cannot fix it, and the unit does not retry 2); `migrate` exits 1 on
    any failure; everything else (no database yet, held by another daemon) is 1."""
    from crawler.store import SchemaError, StoreUnavailableError

    if command == "migrate":
        return EXIT_FAILURE
    if isinstance(exc, SchemaError | StoreUnavailableError):
        return EXIT_CONFIG
    return EXIT_FAILURE


def _dispatch(args: argparse.Namespace, settings: Settings, log_stream: TextIO) -> int:
    if args.command == "run":
        from crawler.daemon import run_daemon

        return asyncio.run(run_daemon(settings, resolve_config_path(args.config),
                                      log_stream=log_stream))
    if args.command == "once":
        from crawler.commands.once import run_once

        return asyncio.run(run_once(settings))
    if args.command == "history":
        from crawler.commands.history import show_history

        return asyncio.run(show_history(settings, args.url, as_json=args.as_json))
    if args.command == "show":
        from crawler.commands.show import show_version

        return asyncio.run(show_version(settings, args.url, args.version_number,
                                        as_json=args.as_json))
    if args.command == "articles":
        from crawler.commands.articles import list_articles

        return asyncio.run(list_articles(settings, search=args.search, feed=args.feed,
                                         limit=args.limit, as_json=args.as_json))
    if args.command == "changes":
        from crawler.commands.changes import list_changes

        return asyncio.run(list_changes(settings, since=args.since, kind=args.event_type,
                                        feed=args.feed, limit=args.limit,
                                        as_json=args.as_json))
    if args.command == "diff":
        from crawler.commands.diff import show_diff

        fmt = "json" if args.as_json else args.format
        return asyncio.run(show_diff(settings, args.url, args.from_version, args.to_version,
                                     fmt, context=args.context, full=args.full))
    if args.command == "status":
        from crawler.commands.status import show_status

        return asyncio.run(show_status(settings, as_json=args.as_json))
    if args.command == "webhooks":
        from crawler.commands.webhooks import send_test_events

        return asyncio.run(send_test_events(settings, endpoint=args.endpoint))
    if args.command == "migrate":
        from crawler.commands.migrate import migrate

        return asyncio.run(migrate(settings))
    if args.command == "backup":
        from crawler.commands.backup import backup

        return asyncio.run(backup(settings, Path(args.path)))
    if args.command == "deliveries":
        from crawler.commands import deliveries as cmd

        if args.action == "replay":
            return asyncio.run(cmd.replay(settings, event_id=args.event_id, failed=args.failed,
                                          endpoint=args.endpoint))
        if args.action == "resume":
            return asyncio.run(cmd.resume(settings, endpoint=args.endpoint))
        if args.action == "retarget":
            return asyncio.run(cmd.retarget(settings, from_endpoint=args.from_endpoint,
                                            to_endpoint=args.to_endpoint))
        return asyncio.run(cmd.list_deliveries(settings, as_json=args.as_json))
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects others


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
