"""The ``hark`` command: a thin layer over ``hark.Engine``. User errors print one line and exit 1.

The group and its shared helpers live here; the commands are in text.py (parse, stream, resolve), listening.py
(listen, transcribe, devices) and manage.py (skills, plugins, doctor, demo, train)."""
from __future__ import annotations

import functools
import json
import os
import sys
from typing import Any, Callable

import click

from ..config import load_config
from ..errors import HarkError


__all__ = ["main", "cli"]


def _config(ctx: click.Context, **overrides: Any):
    """The config of this command (the Engine it starts checks the plugin names in plugins.enabled/disabled)."""
    return load_config(ctx.obj["config"], **overrides)


def _engine(ctx: click.Context, config: Any = None, **overrides: Any):
    from ..runtime import Engine

    return Engine(config or _config(ctx, **overrides))


def _user_errors(fn: Callable) -> Callable:
    """Turn HarkError (and unreadable input files) into a one-line ClickException."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HarkError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            raise
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"cannot read input: {exc}") from None

    return wrapper


def _dump(obj: Any, pretty: bool) -> str:
    return json.dumps(obj, indent=2 if pretty else None, ensure_ascii=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "-c", type=click.Path(dir_okay=False), envvar="HARK_CONFIG",
              help="config.yaml to use (default: $HARK_CONFIG, else the project's config.yaml).")
@click.version_option(package_name="hark-nlu", prog_name="hark")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """hark: offline voice-assistant NLU. Text, ASR n-best lists or audio in; skill actions out (JSON).

    \b
    Try:
      hark parse "set a timer for ten minutes"
      echo '[{"text": "turn of the kitchen lights", "score": 0.6},
             {"text": "turn off the kitchen lights", "score": 0.4}]' | hark parse --nbest -
      hark skills
      hark demo
    """
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    _setup_logging()


def _setup_logging() -> None:
    """Plugin failures and warnings go to stderr as one line each, prefixed so they stand apart from JSON output."""
    import logging

    logger = logging.getLogger("hark")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("hark: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if os.environ.get("HARK_DEBUG") else logging.WARNING)
        logger.propagate = False


def main(argv: list[str] | None = None) -> None:
    """Console entry point: unexpected errors print one line (HARK_DEBUG=1 shows the traceback)."""
    try:
        cli.main(args=argv, prog_name="hark", standalone_mode=True)
    except SystemExit:
        raise
    except BrokenPipeError:  # `hark skills | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - last line of defence against tracebacks for users
        if os.environ.get("HARK_DEBUG"):
            raise
        click.echo(f"hark: internal error: {type(exc).__name__}: {exc} (run with HARK_DEBUG=1 for details)",
                   err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()


# the commands register themselves on `cli` when their modules are imported
from . import listening, manage, report, serve, skilldev, text, tutor  # noqa: E402,F401
