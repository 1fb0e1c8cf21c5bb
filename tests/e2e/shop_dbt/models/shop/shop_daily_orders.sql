{{
    config(
        materialized='table',
        schema='marts',
        engine='MergeTree()',
        order_by='order_date',
        tags=['intraday'],
        pre_hook=(['select sleep(3)'] * 6 if (var('data_interval_start', '') or '')[:10] == '2026-10-06' else []),
    )
}}

-- A table rebuilt from the incremental one on every run: orders and revenue per day placed.
-- For the backfill's first date it takes 18 s more (pre-hooks), so that its WATCHER task is still deferred
-- when test_backfill_fortnight restarts the triggerer, however fast the rest of the build is.
select
    toDate(created_at) as order_date,
    count() as orders,
    sum(order_total) as revenue
from {{ ref('shop_orders') }}
group by order_date
