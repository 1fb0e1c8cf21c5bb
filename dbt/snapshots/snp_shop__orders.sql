{#- SCD2 history of shop orders: a new version whenever the status or a delivery field changes.
    updated_at makes a version valid from the time the app changed the row, not from the snapshot run. -#}
{% snapshot snp_shop__orders %}
{{
    config(
        unique_key='order_id',
        strategy='check',
        check_cols=['status', 'tracking_id', 'shipping_service', 'estimated_delivery_at', 'delivered_at'],
        updated_at='updated_at',
    )
}}

    select
        toString(order_id) as order_id,
        toString(user_id) as user_id,
        toString(status) as status,
        nullIf(toString(tracking_id), '') as tracking_id,
        nullIf(toString(shipping_service), '') as shipping_service,
        {{ to_utc_timestamp('estimated_delivery_at') }} as estimated_delivery_at,
        {{ to_utc_timestamp('delivered_at') }} as delivered_at,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at
    from {{ source('shop', 'orders') }}
    order by _loaded_at desc
    limit 1 by order_id

{% endsnapshot %}
