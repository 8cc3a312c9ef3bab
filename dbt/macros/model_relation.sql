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
