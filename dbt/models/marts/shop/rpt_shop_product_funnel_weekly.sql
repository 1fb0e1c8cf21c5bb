{{ config(order_by='(week_start, product_id)') }}

-- Weekly product funnel: sessions that viewed a product, of those the ones that added it to the cart, of
-- those the ones that checked out, with the drop-off between steps. Steps are nested, so counts never grow.
with

events as (
    select * from {{ ref('fct_shop_events') }}
),

products as (
    select * from {{ ref('dim_shop_products') }}
),

session_checkouts as (
    select
        session_id,
        min(created_at) as checked_out_at
    from events
    where event_type = 'checkout'
    group by session_id
),

session_products as (
    select
        session_id,
        product_id,
        minIf(created_at, event_type = 'page_view') as viewed_at,
        countIf(event_type = 'page_view') > 0 as viewed,
        countIf(event_type = 'add_to_cart') > 0 as added_to_cart
    from events
    where product_id is not null and event_type in ('page_view', 'add_to_cart')
    group by session_id, product_id
),

steps as (
    select
        toMonday({{ shop_date('session_products.viewed_at') }}) as week_start,
        session_products.product_id as product_id,
        session_products.viewed as viewed,
        session_products.viewed and session_products.added_to_cart as added_to_cart,
        session_products.viewed and session_products.added_to_cart and session_checkouts.session_id is not null
            as checked_out
    from session_products
    left join session_checkouts on session_products.session_id = session_checkouts.session_id
    where session_products.viewed
    settings join_use_nulls = 1
),

weekly as (
    select
        week_start,
        assumeNotNull(product_id) as product_id,
        countIf(viewed) as viewed_sessions,
        countIf(added_to_cart) as cart_sessions,
        countIf(checked_out) as checkout_sessions
    from steps
    group by week_start, product_id
),

final as (
    select
        weekly.week_start as week_start,
        weekly.product_id as product_id,
        products.product_name as product_name,
        weekly.viewed_sessions as viewed_sessions,
        weekly.cart_sessions as cart_sessions,
        weekly.checkout_sessions as checkout_sessions,
        weekly.viewed_sessions - weekly.cart_sessions as view_to_cart_drop_off,
        weekly.cart_sessions - weekly.checkout_sessions as cart_to_checkout_drop_off,
        {{ ratio('weekly.cart_sessions', 'weekly.viewed_sessions') }} as view_to_cart_rate,
        {{ ratio('weekly.checkout_sessions', 'weekly.cart_sessions') }} as cart_to_checkout_rate,
        {{ ratio('weekly.checkout_sessions', 'weekly.viewed_sessions') }} as view_to_checkout_rate
    from weekly
    left join products on weekly.product_id = products.product_id
)

select * from final
