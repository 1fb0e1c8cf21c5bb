{{ config(order_by='step_number') }}

-- Signup funnel: sessions that started a signup -> accounts created in them -> of those users, the ones who
-- completed their profile -> of those, the ones who placed a first order. Flags the largest drop-off.
with

events as (
    select * from {{ ref('fct_shop_events') }}
),

orders as (
    select * from {{ ref('fct_shop_orders') }}
),

started_sessions as (
    select distinct session_id
    from events
    where event_type = 'signup_started'
),

created_users as (
    select distinct session_user_id as user_id
    from events
    where
        event_type = 'account_created'
        and session_user_id is not null
        and session_id in (select session_id from started_sessions)
),

completed_users as (
    select distinct session_user_id as user_id
    from events
    where
        event_type = 'profile_completed'
        and session_user_id in (select user_id from created_users)
),

ordering_users as (
    select distinct user_id
    from orders
    where user_id in (select user_id from completed_users)
),

steps as (
    select
        1 as step_number,
        'signup_started' as step_name,
        (select count(*) from started_sessions) as entities
    union all
    select
        2 as step_number,
        'account_created' as step_name,
        (select count(*) from created_users) as entities
    union all
    select
        3 as step_number,
        'profile_completed' as step_name,
        (select count(*) from completed_users) as entities
    union all
    select
        4 as step_number,
        'first_order' as step_name,
        (select count(*) from ordering_users) as entities
),

measured as (
    select
        toUInt8(step_number) as step_number,
        step_name,
        toUInt64(entities) as entities,
        toUInt64(lagInFrame(entities, 1, entities) over (order by step_number)) as previous_entities
    from steps
),

final as (
    select
        step_number,
        step_name,
        entities,
        previous_entities,
        toInt64(previous_entities) - toInt64(entities) as drop_off,
        if(
            previous_entities = 0, 0, (toInt64(previous_entities) - toInt64(entities)) / previous_entities
        ) as drop_off_rate,
        {{ ratio('entities', 'previous_entities') }} as conversion_from_previous,
        step_number > 1
        and drop_off_rate = max(if(step_number > 1, drop_off_rate, -1)) over () as is_largest_drop_off
    from measured
)

select * from final
