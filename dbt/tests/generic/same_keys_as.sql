{#-
    Fails for every key of the model that is not among the keys of `to` (rows of `to` where `to_condition`
    holds), and for every such key missing from the model: a fact that stops following its source (a window
    that never matches) fails on the night it happens. A generic test, so it runs with the model it is defined on.
-#}
{% test same_keys_as(model, to, columns, to_condition='1 = 1') %}
{%- set keys = columns | join(', ') -%}
select
    {{ keys }},
    'not in the source' as problem
from {{ model }}
where ({{ keys }}) not in (select {{ keys }} from {{ to }} where {{ to_condition }})
union all
select
    {{ keys }},
    'missing from the model' as problem
from {{ to }}
where {{ to_condition }} and ({{ keys }}) not in (select {{ keys }} from {{ model }})
{% endtest %}
