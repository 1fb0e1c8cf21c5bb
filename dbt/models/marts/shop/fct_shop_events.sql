{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        order_by='(event_date, event_type, event_id)',
        partition_by='toYYYYMM(event_date)',
    )
}}

-- One row per event, attributed to the session's user (so events before signup count for the user too).
-- Incremental on created_at: a run rebuilds the events of its data interval.
with

events as (
    select * from {{ ref('stg_shop__events') }}
    where {{ incremental_window('created_at') }}
),

sessions as (
    select * from {{ ref('int_shop__sessions') }}
),

final as (
    select
        events.event_id as event_id,
        events.session_id as session_id,
        events.user_id as user_id,
        coalesce(events.user_id, sessions.user_id) as session_user_id,
        events.event_type as event_type,
        events.page_url as page_url,
        events.order_id as order_id,
        events.product_id as product_id,
        events.created_at as created_at,
        toDate(events.created_at) as event_date
    from events
    left join sessions on events.session_id = sessions.session_id
    settings join_use_nulls = 1
)

select * from final
