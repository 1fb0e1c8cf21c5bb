{{ config(order_by='kpi_name') }}

-- Business KPIs against their targets (seed grocery_kpi_targets). A KPI is ON_TARGET when it meets its
-- target in the good direction, AT_RISK within the tolerance (a fraction of the target), OFF_TARGET beyond;
-- NO_DATA without a value, NO_TARGET when the seed has no row for it.
{# (KPI name, relation, expression): one row per KPI #}
{% set kpis = [
    ('avg_basket_size', 'orders', 'avgIf(basket_size, basket_size > 0)'),
    ('reorder_rate', 'lines', 'sum(reordered) / countIf(order_number > 1)'),
    ('avg_days_between_orders', 'orders', 'avg(days_since_prior_order)'),
    ('orders_per_customer', 'orders', 'count(*) / uniqExact(user_id)'),
    ('high_churn_risk_share', 'customers', "countIf(churn_risk = 'high') / count(*)"),
    ('organic_share', 'lines', 'countIf(is_organic) / count(*)'),
    ('champions_share', 'customers', "countIf(lifecycle_segment = 'champions') / count(*)"),
] %}

with

orders as (
    select * from {{ ref('fct_grocery_orders') }}
),

lines as (
    select * from {{ ref('fct_grocery_order_lines') }}
),

customers as (
    select * from {{ ref('rpt_grocery_customer_churn') }}
),

targets as (
    select * from {{ ref('grocery_kpi_targets') }}
),

measured as (
    {% for name, relation, expression in kpis %}
        select
            '{{ name }}' as kpi_name,
            toFloat64({{ expression }}) as value
        from {{ relation }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        measured.kpi_name as kpi_name,
        targets.description as description,
        round(measured.value, 4) as value,
        targets.target as target,
        targets.direction as direction,
        targets.tolerance as tolerance,
        multiIf(
            measured.value is null or isNaN(measured.value), 'NO_DATA',
            targets.kpi_name is null, 'NO_TARGET',
            targets.direction = 'higher' and measured.value >= targets.target, 'ON_TARGET',
            targets.direction = 'lower' and measured.value <= targets.target, 'ON_TARGET',
            targets.direction = 'higher' and measured.value >= targets.target * (1 - targets.tolerance), 'AT_RISK',
            targets.direction = 'lower' and measured.value <= targets.target * (1 + targets.tolerance), 'AT_RISK',
            'OFF_TARGET'
        ) as status
    from measured
    -- a KPI without a target row is still shown (NO_TARGET), not silently dropped
    left join targets on measured.kpi_name = targets.kpi_name
    settings join_use_nulls = 1
)

select * from final
