"""Running a command from a task: its output goes into the task log line by line, with the
connection's password hidden, and it is stopped with the task. ``salesflow`` runs the binary
with the loader's connection in its environment and reads the JSON it prints."""

from __future__ import annotations

import logging
import os
from typing import IO, Any

from salesflow_pipeline import connection, fail, settings

log = logging.getLogger("salesflow.sales_pipeline")


def run(
    cmd: list[str], env: dict[str, str], what: str, secret: str, stdout: IO | None = None
) -> int:
    """Run cmd, streaming its output into the task log line by line; returns the exit code.
    With `stdout` (a file), only stderr goes to the log and stdout to that file (a command's
    JSON)."""
    import subprocess

    log.info("%s: %s", what, " ".join(cmd))
    with subprocess.Popen(
        cmd,
        env=env,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE if stdout is not None else subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        bufsize=1,
    ) as proc:
        output = proc.stderr if stdout is not None else proc.stdout
        assert output is not None
        try:
            for line in output:
                line = line.rstrip("\n")
                if secret and secret in line:  # defence in depth: the tools redact already
                    line = line.replace(secret, "***")
                log.info("%s", line)
            return proc.wait()
        except BaseException:
            # execution_timeout (AirflowTaskTimeout) or the task being killed: the child must
            # not outlive the task, or a load could commit after its task was given up on.
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise


def binary() -> str:
    """The salesflow binary (SALESFLOW_BIN); fails the task when it is not there."""
    path = settings.salesflow_bin()
    if not os.access(path, os.X_OK):
        fail(f"salesflow binary {path} not found or not executable: set SALESFLOW_BIN")
    return str(path)


def salesflow(args: list[str], url: str, what: str) -> tuple[int, Any]:
    """Run `salesflow ARGS --json` as the connection of `url`; its log goes to the task log.
    Returns the exit code and the JSON it printed (None when it printed none)."""
    import json
    import tempfile

    cmd = [binary(), *args, "--json"]
    with tempfile.TemporaryFile("w+") as out:
        code = run(cmd, connection.child_env(url), what, connection.password(url), stdout=out)
        out.seek(0)
        text = out.read()
    try:
        return code, json.loads(text) if text.strip() else None
    except ValueError:
        log.warning("%s printed no JSON: %s", what, text[:500])
        return code, None
