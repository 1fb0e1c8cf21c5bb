{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        schema='marts',
        engine='MergeTree()',
        order_by='order_id',
        tags=['intraday'],
    )
}}

-- The real project's fct_shop_orders pattern, small enough for a fortnight of e2e runs: incremental by load
-- time (the real `loaded_since_last_build` macro), so a run rebuilds every order loaded since the last build,
-- whichever run loaded it and in whatever order the runs' builds come.
select
    toString(order_id) as order_id,
    toString(user_id) as user_id,
    lower(toString(status)) as status,
    cast(order_total as Decimal(18, 2)) as order_total,
    {{ to_utc_timestamp('created_at', required=true) }} as created_at,
    {{ to_utc_timestamp('updated_at', required=true) }} as updated_at,
    _loaded_at as loaded_at
from {{ source('shop', 'orders') }}
{% if is_incremental() -%}
where {{ loaded_since_last_build('_loaded_at') }}
{%- endif %}
order by _loaded_at desc
limit 1 by order_id
