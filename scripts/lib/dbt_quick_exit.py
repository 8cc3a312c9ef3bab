"""Runs the dbt command line as the `dbt` executable does, then ends the process without the
Python interpreter's teardown.

Freeing dbt's objects one by one when the interpreter shuts down takes about 1 s on the 2-core
development machine, after dbt has finished and written its artifacts: 8-10 % of an
incremental `dbt build` of the 5M-row benchmark, on every call of scripts/dbt (the pipeline,
the Airflow tasks, the tests). The exit handlers still run first (they flush dbt's log files
and release multiprocessing resources), then the standard streams are flushed and the process
exits with dbt's exit code.
"""

import atexit
import os
import sys

from dbt.cli.main import cli


def exit_code(done: SystemExit) -> int:
    if done.code is None:
        return 0
    if isinstance(done.code, int):
        return done.code
    print(done.code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
    return 1


def main() -> None:
    sys.argv[0] = "dbt"
    try:
        cli()
        code = 0
    except SystemExit as done:
        code = exit_code(done)
    # Python has no public call for this; it is what a normal interpreter exit runs first.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
