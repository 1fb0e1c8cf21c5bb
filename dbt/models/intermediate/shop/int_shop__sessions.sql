{{ config(order_by='session_id') }}

-- One row per session: who (once known), when, and how many events of each type (pivoted).
with

events as (
    select * from {{ ref('stg_shop__events') }}
),

sessions as (
    select
        session_id,
        any(user_id) as user_id,
        min(created_at) as started_at,
        max(created_at) as ended_at,
        count(*) as events,
        {{ pivot_event_types('event_type', shop_event_types()) }}
    from events
    group by session_id
)

select * from sessions
