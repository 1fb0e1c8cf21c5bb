{#- The real project's snp_shop__orders, cut down: a version whenever an order's status or delivery changes,
    valid from the time the app changed the row, so runs in any order give the same history. -#}
{% snapshot snap_shop_orders %}
{{
    config(
        unique_key='order_id',
        strategy='check',
        check_cols=['status', 'delivered_at'],
        updated_at='updated_at',
        tags=['intraday'],
    )
}}

    select
        toString(order_id) as order_id,
        toString(status) as status,
        {{ to_utc_timestamp('delivered_at') }} as delivered_at,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at
    from {{ source('shop', 'orders') }}
    order by _loaded_at desc
    limit 1 by order_id

{% endsnapshot %}
