{#- Every product and retailer attribute combination seen in the sales, with its first and
    last sale date; accumulated from the new loads on each run (macros/attribute_history.sql).
    README, "SCD2 in business time". -#}
{{ config(materialized='table', pre_hook="set local parallel_tuple_cost = 0.01") }}
{{ salesflow.attribute_history() }}
