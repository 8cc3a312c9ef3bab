{#- dbt calls this for every test with a `where` config. Two placeholders scope the tests of
    the big tables to what the latest load or build wrote, so that an incremental build does
    not re-test millions of unchanged rows:
      __latest_build__  rows with the latest dbt_updated_at (fct_sales: on a full build that is
                        every row, on an incremental build the rows it upserted)
      __latest_load__   rows of the latest succeeded load (raw.sales)
    With var test_scope=all both mean every row, and so does __latest_build__ when every row
    has the latest dbt_updated_at (after a full build): the test then gets the table itself,
    not a subquery, so that the unique and relationships tests can use its indexes
    (tests/generic/unique_by_index.sql, relationships_by_index.sql). The values are looked up when the test runs
    and written into the SQL as literals, so that the planner sees how few rows they select
    (a parameter would be estimated from the statistics of the last full build: all rows).
    Other `where` strings work as usual. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set all_rows = var('test_scope', 'batch') == 'all' or not execute -%}
        {%- if '__latest_build__' in where -%}
            {%- if all_rows -%}
                {%- set condition = 'true' -%}
            {%- else -%}
                {%- set bounds = run_query('select min(dbt_updated_at)::text, max(dbt_updated_at)::text from ' ~ relation).rows[0] -%}
                {%- set latest = bounds[1] -%}
                {%- if latest is none -%}
                    {%- set condition = 'false' -%}
                {%- elif bounds[0] == latest -%}
                    {%- set condition = 'true' -%}
                {%- else -%}
                    {%- set condition = "dbt_updated_at = '" ~ latest ~ "'::timestamptz" -%}
                {%- endif -%}
            {%- endif -%}
            {%- set where = where | replace('__latest_build__', condition) -%}
        {%- endif -%}
        {%- if '__latest_load__' in where -%}
            {%- if all_rows -%}
                {%- set condition = 'true' -%}
            {%- else -%}
                {%- set latest = salesflow.latest_succeeded_load() -%}
                {%- set condition = 'load_id = ' ~ latest if latest is not none else 'false' -%}
            {%- endif -%}
            {%- set where = where | replace('__latest_load__', condition) -%}
        {%- endif -%}
        {%- if where | trim == 'true' -%}
            {#- every row: the table itself, so that a test can use its indexes -#}
            {%- do return(relation) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
