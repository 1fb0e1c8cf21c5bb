with

source as (
    -- events land in a ReplacingMergeTree: until its background merge, a re-sent event can appear twice
    select * from {{ source('shop', 'events') }}
    order by _loaded_at desc
    limit 1 by event_id
),

renamed as (
    select
        toString(event_id) as event_id,
        toString(session_id) as session_id,
        nullIf(toString(user_id), '') as user_id,
        page_url,
        lower(toString(event_type)) as event_type,
        nullIf(toString(order_id), '') as order_id,
        nullIf(toString(product_id), '') as product_id,
        {{ to_utc_timestamp('created_at', required=true) }} as created_at,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
