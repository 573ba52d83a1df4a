"""How the bot logs: text (the default) or, with LOG_FORMAT=json, one JSON object a line.

Every line passes the handler's filters before its formatter: first the secret redaction (the
handler is bot/redact.py's `redacting_handler`, whose `RedactSecrets` filter redacts the message,
its arguments and the traceback), then `JobContext`, which adds the team, channel and job id of the
job the logging thread is running (`job_context`), so that a formatter, text or JSON, only ever sees
redacted records and a log collector can follow one job across both processes.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging

# (team, channel, job id) of the job this thread runs; each worker thread has its own.
_job: contextvars.ContextVar[tuple[str, str, int] | None] = contextvars.ContextVar("breakeven_job", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def job_context(team: str, channel: str, job_id: int):
    """Lines logged inside carry the job's team, channel and id."""
    token = _job.set((team, channel, job_id))
    try:
        yield
    finally:
        _job.reset(token)


class JobContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        team, channel, job = _job.get() or (None, None, None)
        record.team, record.channel, record.job = team, channel, job
        return True


class JsonFormatter(logging.Formatter):
    """time (UTC, ISO 8601), level, logger, message, team, channel, job (null outside a job), and the
    traceback, when there is one, as `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "team": getattr(record, "team", None),
            "channel": getattr(record, "channel", None),
            "job": getattr(record, "job", None),
            "pid": record.process,
        }
        # The redaction filter hands a traceback on as text (exc_text), already redacted.
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(log_format: str) -> None:
    """The root logger's one handler (stderr): the redacting handler (redaction first), then the
    job's context, then the format."""
    from .redact import redacting_handler

    handler = redacting_handler(fmt=TEXT_FORMAT)
    handler.addFilter(JobContext())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
