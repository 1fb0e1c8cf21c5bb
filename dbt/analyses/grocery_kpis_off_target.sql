-- Are we on target? Every KPI that is not ON_TARGET, with how far it is from its target.
select
    kpi_name,
    description,
    value,
    target,
    direction,
    status,
    round(value / target - 1, 3) as relative_gap
from {{ ref('rpt_grocery_kpis') }}
where status != 'ON_TARGET'
order by status desc, abs(value / target - 1) desc
