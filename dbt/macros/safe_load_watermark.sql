{#- Which loads a build may read.

    Loads are numbered by salesflow.loads.load_id (an identity) and commit in their own
    transactions. A load with a smaller id can still be running while a later one has already
    committed, so "everything visible now" is not a safe high-water mark: a model that
    processed the later load would never come back for the earlier one. The safe mark is just
    below the oldest load still running (the loader writes its ledger row as 'running' in a
    transaction of its own before it loads), else the newest load in the ledger.
    Returns a number at execution time (0 while parsing). -#}
{% macro safe_load_watermark() %}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- set loads = source('salesflow', 'loads') -%}
    {%- set sql -%}
        select coalesce(
            (select min(load_id) - 1 from {{ loads }} where status = 'running'),
            (select max(load_id) from {{ loads }}),
            0)
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0] | int) }}
{% endmacro %}
