"""``hark serve``: the HTTP + WebSocket API, and the Wyoming server Home Assistant talks to."""
from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from . import _config, _engine, _user_errors, cli


@cli.command()
@click.option("--host", default=None, help="Address of the HTTP API (default: serve.host, 127.0.0.1). Anything "
                                           "but loopback needs --token.")
@click.option("--port", type=int, default=None, help="Port of the HTTP API (default: serve.port, 8700; 0: any).")
@click.option("--token", envvar="HARK_TOKEN", default=None,
              help="Bearer token every request must carry (default: $HARK_TOKEN). Required off loopback.")
@click.option("--wyoming", "wyoming", default=None, metavar="tcp://HOST:PORT",
              help="Also serve Home Assistant's Wyoming protocol here: intent, handle and speech-to-text "
                   "(default: serve.wyoming; e.g. tcp://0.0.0.0:10700).")
@click.option("--reload/--no-reload", default=True, show_default=True,
              help="Watch the skill folders and serve changed skills from the next request on.")
@click.option("--log-json/--no-log-json", default=True, show_default=True,
              help="One JSON line per request on stderr.")
@click.pass_context
@_user_errors
def serve(ctx: click.Context, host: str | None, port: int | None, token: str | None, wyoming: str | None,
          reload: bool, log_json: bool) -> None:
    """Serve hark to devices and Home Assistant on this machine (or your network, with a token).

    \b
    HTTP (JSON):   POST /parse {"text": ...} or {"nbest": [...]}   -> what `hark parse` prints
                   POST /resolve {"skill", "slot", "text"}         -> catalog matches
                   GET /skills, GET /health, GET /metrics (Prometheus)
    WebSocket:     /stream?rate=16000  binary 16-bit mono PCM or JSON lines in, events out
    Wyoming:       --wyoming tcp://0.0.0.0:10700  (Home Assistant: Settings > Devices > Add > Wyoming)

    \b
    Examples:
      hark serve
      curl -s localhost:8700/parse -d '{"text": "set a timer for ten minutes"}'
      HARK_TOKEN=$(openssl rand -hex 16) hark serve --host 0.0.0.0 --wyoming tcp://0.0.0.0:10700

    See docs/serving.md for the WebSocket messages and the Home Assistant set-up.
    """
    from .. import __version__
    from ..serve import check_bind, parse_tcp_uri, serve as run

    config = _config(ctx)
    settings = config.serve
    host = host or settings.host
    port = settings.port if port is None else port
    wyoming = wyoming if wyoming is not None else (settings.wyoming or None)
    check_bind(host, token)  # before the models load: a refused bind should not take seconds to say so
    if wyoming:
        check_bind(parse_tcp_uri(wyoming)[0], token, "--wyoming host")
    _log_setup(log_json)
    with _engine(ctx, config) as engine:
        for event in engine.startup_events:
            click.echo(f"hark: {event.data.get('plugin')}: {event.data.get('message')}", err=True)

        def ready(hub: Any, bound: int, wy_server: Any) -> None:
            where = f"http://{host}:{bound}" + (f", wyoming {wyoming}" if wyoming else "")
            click.echo(f"hark {__version__}: serving {len(list(engine.skills))} skills on {where}"
                       f"{' (token required)' if token else ''}; Ctrl-C stops", err=True)

        def fresh() -> Any:
            return _engine(ctx, _config(ctx))

        def say(message: str) -> None:
            click.echo(f"hark: {message}", err=True)

        run(engine, host=host, port=port, token=token, wyoming=wyoming, version=__version__, ready=ready,
            reload=fresh if reload else None, say=say)


def _log_setup(as_json: bool) -> None:
    """Request lines of the ``hark.serve`` logger to stderr (JSON already), other server messages as text."""
    logger = logging.getLogger("hark.serve")
    logger.setLevel(logging.INFO if as_json else logging.WARNING)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_Formatter())
        logger.addHandler(handler)
        logger.propagate = False


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.startswith("{"):
            return message
        out = {"level": record.levelname.lower(), "message": message}
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(out)
