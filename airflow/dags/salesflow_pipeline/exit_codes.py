"""The salesflow binary's exit codes, by name.

Generated from `salesflow exit-codes --json`: do not edit. After the binary's table changes,
regenerate it with

    python3 airflow/gen_exit_codes.py [SALESFLOW_BIN]

(airflow/tests/test_exit_codes.py fails while this module differs from the binary's table).
"""

from __future__ import annotations

# done (skipped files included)
OK = 0
# another failure; a retry may pass (a failed load leaves nothing behind)
FAILURE = 1
# wrong arguments or settings (a path, a contract, the database URL, a login, TLS): a retry cannot pass
USAGE = 2
# a data-quality problem: a file that is not a sales feed, a file over --max-reject-rate, or a load the quality gate holds back
DATA_QUALITY = 3
# the database is unreachable or the connection was lost: worth a retry
DATABASE_UNREACHABLE = 4

NAMES = {
    OK: "OK",
    FAILURE: "FAILURE",
    USAGE: "USAGE",
    DATA_QUALITY: "DATA_QUALITY",
    DATABASE_UNREACHABLE: "DATABASE_UNREACHABLE",
}
MEANINGS = {
    OK: "done (skipped files included)",
    FAILURE: "another failure; a retry may pass (a failed load leaves nothing behind)",
    USAGE: "wrong arguments or settings (a path, a contract, the database URL, a login, TLS): a retry cannot pass",
    DATA_QUALITY: "a data-quality problem: a file that is not a sales feed, a file over --max-reject-rate, or a load the quality gate holds back",
    DATABASE_UNREACHABLE: "the database is unreachable or the connection was lost: worth a retry",
}
