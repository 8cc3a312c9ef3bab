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

{#- Whether any succeeded load in (after_load_id, upto_load_id] updated sales that were
    loaded before (same sale_id, new content). Updates can take evidence away from an
    accumulated history (an attribute combination, an earliest date), which a min/max merge
    cannot undo: the history models then recompute from all rows. -#}
{% macro loads_have_updates(after_load_id, upto_load_id) %}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set sql -%}
        select exists (
            select 1 from {{ source('salesflow', 'loads') }}
            where load_id > {{ after_load_id }} and load_id <= {{ upto_load_id }}
              and status = 'succeeded' and rows_updated > 0)
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}

{#- The relation of a model of this project, found without ref() so that a model can read the
    state another model left behind in the previous run without a dependency cycle (the
    fact's change set reads the fact as it was before this run merges into it). None when
    that model has not been built yet, and while parsing. -#}
{% macro model_relation(model_name) %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.name == model_name -%}
            {{ return(adapter.get_relation(database=node.database, schema=node.schema,
                                           identifier=node.alias)) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{% endmacro %}

{#- The current batch (one row of int_sales_batch) as a dict; mode 'none' while parsing. -#}
{% macro batch_info() %}
    {%- set batch = ref('int_sales_batch') -%}  {#- outside the branch: parsing sees the dependency -#}
    {%- if not execute -%}
        {{ return({'mode': 'none', 'from_load_id': 0, 'to_load_id': 0, 'has_updates': false}) }}
    {%- endif -%}
    {%- set sql -%}
        select batch_mode, from_load_id, to_load_id, has_updates,
               fct_version_before::text as fct_version_before, batch_started_at::text as batch_started_at
        from {{ batch }}
    {%- endset -%}
    {%- set row = run_query(sql).rows[0] -%}
    {{ return({'mode': row[0], 'from_load_id': row[1] | int, 'to_load_id': row[2] | int,
               'has_updates': row[3], 'fct_version_before': row[4], 'batch_started_at': row[5]}) }}
{% endmacro %}
