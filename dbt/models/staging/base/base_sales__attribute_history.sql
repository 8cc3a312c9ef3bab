{#- Every product and retailer attribute combination seen in raw.sales, with when it was first
    and last seen: the name -> id lookup of stg_sales' product-id repair, the history behind
    the SCD2 versions of dim_product and dim_retailer, and dim_date's range. One pass over the
    new rows per run; see macros/attribute_history.sql.

    parallel_tuple_cost: as in fct_sales, the default prices the partial aggregates' rows so
    high that PostgreSQL would group the pairs serially. -#}
{{ config(materialized='table', pre_hook="set local parallel_tuple_cost = 0.01") }}
{{ salesflow.attribute_history() }}
