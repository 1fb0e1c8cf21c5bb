{{ config(order_by='user_id') }}

-- One row per shop user: who, where, since when, and how they buy (orders, value, segment).
with

users as (
    select * from {{ ref('stg_shop__users') }}
),

addresses as (
    select * from {{ ref('stg_shop__addresses') }}
),

orders as (
    select * from {{ ref('fct_shop_orders') }}
),

user_orders as (
    select
        user_id,
        count(*) as orders,
        sum(order_total) as lifetime_value,
        sum(units) as units,
        min(created_at) as first_order_at,
        max(created_at) as last_order_at
    from orders
    group by user_id
),

final as (
    select
        users.user_id as user_id,
        users.first_name as first_name,
        users.last_name as last_name,
        users.email as email,
        addresses.state as state,
        addresses.country as country,
        users.created_at as signed_up_at,
        user_orders.first_order_at as first_order_at,
        user_orders.last_order_at as last_order_at,
        coalesce(user_orders.orders, 0) as orders,
        coalesce(user_orders.lifetime_value, toDecimal64(0, 2)) as lifetime_value,
        {{ ratio('user_orders.lifetime_value', 'user_orders.orders') }} as avg_order_value,
        {{ ratio('user_orders.units', 'user_orders.orders') }} as avg_basket_units,
        multiIf(
            coalesce(user_orders.orders, 0) = 0, 'prospect',
            user_orders.orders = 1, 'one_time',
            user_orders.orders <= 3, 'repeat',
            'loyal'
        ) as segment
    from users
    left join addresses on users.address_id = addresses.address_id
    left join user_orders on users.user_id = user_orders.user_id
    settings join_use_nulls = 1
)

select * from final
