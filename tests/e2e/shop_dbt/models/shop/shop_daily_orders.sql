{{ config(materialized='table', schema='marts', engine='MergeTree()', order_by='order_date', tags=['intraday']) }}

-- A table rebuilt from the incremental one on every run: orders and revenue per day placed.
select
    toDate(created_at) as order_date,
    count() as orders,
    sum(order_total) as revenue
from {{ ref('shop_orders') }}
group by order_date
