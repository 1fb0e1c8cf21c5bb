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
-- Incremental by load time: a run rebuilds every event of each session that got an event loaded since the
-- last build, so a late event is never skipped and a session that straddles two runs gets its user everywhere.
with

all_events as (
    select * from {{ ref('stg_shop__events') }}
),

touched_sessions as (
    select distinct session_id
    from all_events
    where {{ loaded_since_last_build('loaded_at') }}
),

events as (
    select * from all_events
    where session_id in (select session_id from touched_sessions)
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
        {{ shop_date('events.created_at') }} as event_date,
        events.loaded_at as loaded_at
    from events
    left join sessions on events.session_id = sessions.session_id
    settings join_use_nulls = 1
)

select * from final
