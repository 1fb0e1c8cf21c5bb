{#- SCD2 history of shop products: a new version whenever the inventory or the price changes. -#}
{% snapshot snp_shop__products %}
{{
    config(
        unique_key='product_id',
        strategy='check',
        check_cols=['inventory', 'price'],
        updated_at='updated_at',
    )
}}

    select
        toString(product_id) as product_id,
        name as product_name,
        cast(price as Decimal(18, 2)) as price,
        toInt64(inventory) as inventory,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at
    from {{ source('shop', 'products') }}
    order by _loaded_at desc
    limit 1 by product_id

{% endsnapshot %}
