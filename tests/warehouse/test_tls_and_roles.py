"""The warehouse on a server run as in production: dbt's connections use verified TLS (when
DATABASE_URL asks for it, as scripts/test-dbt does with the project's cluster), and the three
group roles of the ledger's migration each do their job and are refused the rest.

The login users are made per test run (roles belong to the server, not to the database) and
dropped at the end of the module. scripts/pg-local's pg_hba.conf makes members of
salesflow_password_login log in with a password; the tests make that group role when missing.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import uuid
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from conftest import DBT, FIXTURES, REFERENCE_CSV, REPO, Warehouse
from pg_roles import ensure_group_role
from psycopg import sql


@pytest.fixture(scope="module")
def built(warehouse):
    warehouse.ingest(REFERENCE_CSV)
    warehouse.dbt("build")
    return warehouse


def query_params(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**query_params(url), **params})))


def as_user(url: str, user: str, password: str | None = None) -> str:
    """The URL with another user (and password), same server, database and TLS settings."""
    parts = urlsplit(url)
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return urlunsplit(parts._replace(netloc=auth + "@" + parts.netloc.rpartition("@")[2]))


@pytest.fixture(scope="module")
def login_user(built):
    """Factory: a login user of this test run, member of `groups`, with a password or not;
    returns a Warehouse connected as that user (same database, same TLS settings)."""
    made: list[str] = []

    def make(*groups: str, password: str | None = None) -> Warehouse:
        name = f"sf_test_{uuid.uuid4().hex[:12]}"
        statement = sql.SQL("create role {} login").format(sql.Identifier(name))
        if password:
            statement += sql.SQL(" password {}").format(sql.Literal(password))
        built.execute(statement)
        made.append(name)
        for group in groups:
            ensure_group_role(built.url, group)
            built.execute(sql.SQL("grant {} to {}").format(*map(sql.Identifier, (group, name))))
        return Warehouse(as_user(built.url, name, password))

    yield make
    for name in made:
        # the objects and privileges of the user in this database, then the user itself
        built.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
        built.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


def refused(wh: Warehouse, statement: str) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refusal:
        wh.execute(statement)
    return str(refusal.value)


# --------------------------------------------------------------------------- TLS


def verified_tls(url: str) -> bool:
    return query_params(url).get("sslmode") in ("verify-ca", "verify-full")


def dbt_show(wh: Warehouse, inline: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DBT), "show", "--inline", inline, "--output", "json", "--quiet"],
        env={**wh.env(), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dbt_connects_over_verified_tls(built):
    if not verified_tls(built.url):
        pytest.skip("DATABASE_URL does not ask for verified TLS (scripts/test-dbt's default does)")
    # pg_stat_ssl shows a session only to its own user: no SET ROLE here (empty role)
    proc = dbt_show(
        built,
        "select ssl, version from pg_stat_ssl where pid = pg_backend_pid()",
        SALESFLOW_DBT_ROLE="",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = json.loads(proc.stdout[proc.stdout.index("{") :])["show"]
    assert [row["ssl"] for row in rows] == [True], proc.stdout
    assert rows[0]["version"].startswith("TLSv1."), rows


def test_dbt_refuses_a_server_certificate_its_ca_did_not_sign(built, tmp_path):
    if not verified_tls(built.url):
        pytest.skip("DATABASE_URL does not ask for verified TLS (scripts/test-dbt's default does)")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=another CA", "-keyout", "ca.key", "-out", "ca.crt"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    foreign = Warehouse(with_params(built.url, sslrootcert=str(tmp_path / "ca.crt")))
    proc = dbt_show(foreign, "select 1 as one")
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "certificate verify failed" in proc.stdout + proc.stderr, (
        proc.stdout[-3000:] + proc.stderr[-3000:]
    )


# --------------------------------------------------------------------------- roles


def test_what_dbt_builds_belongs_to_the_transformer_role(built):
    owners = built.rows(
        "select schemaname, tableowner from pg_tables"
        " where schemaname in ('staging', 'marts') union "
        "select schemaname, viewowner from pg_views where schemaname in ('staging', 'marts')"
    )
    assert {owner for _, owner in owners} == {"salesflow_transformer"}, owners
    assert {schema for schema, _ in owners} == {"staging", "marts"}


@pytest.fixture(scope="module")
def by_roles(built, login_user):
    """A second round done by least-privilege login users: the loader ingests a file, then
    dbt builds as a user that is only a member of the transformer role and must log in with
    a password (given in DATABASE_URL, which scripts/dbt passes on in PGPASSWORD)."""
    loader = login_user("salesflow_loader")
    loader.ingest(FIXTURES / "second-round.csv")
    password = "pw:" + secrets.token_urlsafe(12) + "@/%"
    transformer = login_user("salesflow_transformer", "salesflow_password_login", password=password)
    transformer.dbt("build")
    return {
        "loader": loader,
        "transformer": transformer,
        "reader": login_user("salesflow_reader"),
        "password": password,
    }


def test_the_loader_loads_and_may_not_touch_the_marts(built, by_roles):
    loader = by_roles["loader"]
    assert (
        built.one(
            "select count(*) from salesflow.loads where status = 'succeeded'"
            " and source_path like '%second-round.csv'"
        )
        == 1
    )
    assert "permission denied" in refused(loader, "drop table marts.fct_sales")
    assert "permission denied" in refused(loader, "delete from marts.fct_sales")
    assert built.one("select count(*) > 0 from marts.fct_sales")


def test_a_transformer_member_builds_the_marts_as_the_transformer_role(built, by_roles):
    transformer = by_roles["transformer"]
    assert transformer.one("select rolsuper from pg_roles where rolname = current_user") is False
    # the second round reached the marts
    assert built.one("select count(*) from marts.fct_sales") == built.one(
        "select count(*) from raw.sales"
    )
    assert built.one(
        "select count(*) from salesflow.loads where status = 'succeeded'"
    ) == built.one("select count(distinct load_id) from marts.fct_sales")
    owners = built.rows(
        "select tablename, tableowner from pg_tables where schemaname = 'marts' order by 1"
    )
    assert {name for name, _ in owners} >= {"fct_sales", "dim_product", "sales_monthly"}
    assert {owner for _, owner in owners} == {"salesflow_transformer"}, owners
    # the transformer reads raw and the ledger, and writes neither
    assert "permission denied" in refused(transformer, "delete from raw.sales")
    assert "permission denied" in refused(
        transformer, "update salesflow.loads set rows_read = rows_read"
    )


def test_the_reader_reads_the_marts_and_nothing_else(built, by_roles):
    reader = by_roles["reader"]
    assert reader.one("select count(*) from marts.fct_sales") == built.one(
        "select count(*) from marts.fct_sales"
    )
    assert reader.one("select count(*) > 0 from marts.sales_monthly")
    assert "permission denied" in refused(reader, "select count(*) from raw.sales")
    assert "permission denied" in refused(reader, "select count(*) from salesflow.loads")
    assert "permission denied" in refused(
        reader, "insert into marts.dim_date select * from marts.dim_date limit 1"
    )
    assert "permission denied" in refused(reader, "update marts.fct_sales set quantity = 0")


def test_the_server_demands_the_password_dbt_was_given(built, by_roles):
    transformer = by_roles["transformer"]
    without_password = Warehouse(as_user(built.url, urlsplit(transformer.url).username))
    with pytest.raises(psycopg.OperationalError, match="password"):
        without_password.one("select 1")
    # scripts/dbt passed the password on in the environment: dbt's own log has no trace of it
    logs = REPO / "dbt" / "logs" / "dbt.log"
    if logs.exists():
        assert by_roles["password"] not in logs.read_text(errors="replace")
