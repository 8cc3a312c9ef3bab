"""The quality gate and the publication of the marts, both owned by the salesflow binary
(`salesflow gate`, `salesflow publish`): the threshold's default (the contract's
quality_gate.max_reject_rate), which loads are judged, acceptances and their revocations, and
the publication record all live there. This module runs the commands, maps their exit codes,
words the task's failure from their JSON verdicts and reshapes those for XCom and the Asset
event."""

from __future__ import annotations

import logging
from pathlib import Path

from salesflow_pipeline import connection, exit_codes, fail, process

log = logging.getLogger("salesflow.sales_pipeline")


def _check(code: int, what: str) -> None:
    """Fails the task on exit codes no retry can fix, raises (retry) on the others; returns on
    OK and DATA_QUALITY, which the caller reads the verdict of."""
    if code in (exit_codes.OK, exit_codes.DATA_QUALITY):
        return
    if code == exit_codes.USAGE:
        fail(f"{what} rejected its arguments or settings (exit {code}); its error is above")
    if code == exit_codes.DATABASE_UNREACHABLE:
        raise RuntimeError(f"{what}: the database is unreachable (exit {code})")
    raise RuntimeError(f"{what} failed (exit {code}); its error is above")


def _threshold_args(max_reject_rate: str | float | None) -> list[str]:
    return [] if max_reject_rate is None else ["--max-reject-rate", str(max_reject_rate)]


def newest_succeeded_load_id() -> int:
    """The newest succeeded load (0 on a fresh database): taken before dbt builds, it bounds
    what the gate may publish (a load that commits while dbt runs may not be in the marts)."""
    what = "salesflow status"
    code, loads = process.salesflow(
        ["status", "--status", "succeeded", "--limit", "1"], connection.database_url(), what
    )
    _check(code, what)
    return loads[0]["load_id"] if loads else 0


def summary(verdict: dict) -> dict:
    """The binary's verdict (or publication), as the tasks pass it on and the Asset event
    carries it."""
    loads = verdict.get("loads", [])
    return {
        "after_load_id": verdict["after_load_id"],
        "through_load_id": verdict["through_load_id"],
        "threshold": verdict["threshold"],
        "load_ids": [load["load_id"] for load in loads],
        "accepted_load_ids": [load["load_id"] for load in loads if load["verdict"] == "accepted"],
        "held_load_ids": [load["load_id"] for load in loads if load["verdict"] == "held"],
        "rows_read": verdict["rows_read"],
        "rows_rejected": verdict["rows_rejected"],
        "reject_rate": verdict["reject_rate"],
        "passed": verdict["passed"],
    }


def asset_extra(published: dict) -> dict:
    """The marts Asset event's extra, from the publication's summary."""
    keys = ("through_load_id", "load_ids", "rows_read", "rows_rejected", "accepted_load_ids")
    return {key: published[key] for key in keys}


def _describe(load: dict) -> str:
    why = ", ".join(f"{r['reason']} x{r['rows']}" for r in load.get("reasons", []))
    return (
        f"{Path(load['source_path']).name} (load {load['load_id']}):"
        f" {load['rows_rejected']}/{load['rows_read']} rows rejected"
        f" = {100 * load['reject_rate']:.2f}%" + (f" [{why}]" if why else "")
    )


def judge(through_load_id: int, max_reject_rate: str | float | None = None) -> dict:
    """The quality gate (`salesflow gate`) over the loads not yet published through
    `through_load_id`; fails the task (no retry) when it holds a load back. `max_reject_rate`
    None leaves the threshold to the contract. Returns the verdict's summary."""
    what = "salesflow gate"
    args = ["gate", "--through", str(through_load_id), *_threshold_args(max_reject_rate)]
    code, verdict = process.salesflow(args, connection.database_url(), what)
    _check(code, what)
    if verdict is None:
        raise RuntimeError(f"{what} exited {code} without its JSON verdict")
    for load in verdict["loads"]:
        log.info("load %s: %s, %s", load["load_id"], load["verdict"], _describe(load))
    if code == exit_codes.DATA_QUALITY:
        held = [load for load in verdict["loads"] if load["verdict"] == "held"]
        fail(
            f"quality gate: reject rate over {100 * verdict['threshold']:g}% in {len(held)}"
            " load(s): "
            + "; ".join(_describe(load) for load in held)
            + ". The rows are quarantined in raw.sales_rejects (`salesflow rejects LOAD_ID` shows"
            " them); the marts are consistent with raw.sales"
            " but are not published, and later runs fail here too until the load is accepted:"
            " `salesflow accept LOAD_ID --reason ...`, then clear this task (or a run with the"
            " max_reject_rate param above its rate publishes it)."
        )
    return summary(verdict)


def publish(passed: dict, published_by: str, max_reject_rate: str | float | None = None) -> dict:
    """Records the publication (`salesflow publish`) of the loads the gate passed (`passed`,
    the summary `judge` returned): the binary judges them again with the acceptances locked.
    Fails the task (no retry) when it refuses, e.g. because an acceptance the gate relied on
    was revoked since (`salesflow accept --revoke`). Returns the publication's summary."""
    what = "salesflow publish"
    args = ["publish", "--through", str(passed["through_load_id"]), "--by", published_by]
    code, publication = process.salesflow(
        args + _threshold_args(max_reject_rate), connection.database_url(), what
    )
    _check(code, what)
    if publication is None:
        raise RuntimeError(f"{what} exited {code} without its JSON verdict")
    if code == exit_codes.DATA_QUALITY:
        held = summary(publication)["held_load_ids"]
        revoked = [load_id for load_id in held if load_id in passed["accepted_load_ids"]]
        if revoked:
            fail(
                f"not published: the acceptance of load(s) {', '.join(map(str, revoked))} was"
                " revoked after the quality gate passed them (salesflow accept --revoke). The"
                " marts are consistent with raw.sales but stay unpublished; the next run's gate"
                " judges those loads again."
            )
        fail(
            f"not published: the quality gate holds back load(s) {', '.join(map(str, held))}"
            " (see the output above); the next run's gate judges them again."
        )
    published = summary(publication)
    log.info(
        "published: publication %s through load %s by %s",
        publication.get("publication_id"),
        published["through_load_id"],
        publication.get("published_by"),
    )
    return published
