{#- Fails when the newest value of a timestamp column is older than `interval` `datepart`s (or there is none). -#}
{% test recency(model, field, datepart, interval, column_name=none) %}
select max_value
from (
    select max({{ field }}) as max_value
    from {{ model }}
)
where max_value is null
    or max_value < now64(6, 'UTC') - interval {{ interval }} {{ datepart }}
{% endtest %}
