{{ config(order_by='step_number') }}

-- Signup funnel of a cohort, one entity throughout: signup sessions that started at least
-- signup_cohort_days before the newest event (so every one has had the same time to convert) -> of those, the
-- ones that created an account -> whose user completed the profile -> and placed a first order, each within
-- signup_cohort_days of the signup's start. Flags the largest drop-off.
{% set cohort_days = var('signup_cohort_days') %}
with

events as (
    select * from {{ ref('fct_shop_events') }}
),

orders as (
    select * from {{ ref('fct_shop_orders') }}
),

data_end as (
    select max(created_at) as ended_at
    from events
),

signups as (
    select
        session_id,
        min(created_at) as started_at
    from events
    where event_type = 'signup_started'
    group by session_id
    having started_at <= (select ended_at from data_end) - interval {{ cohort_days }} day
),

accounts as (
    select
        session_id,
        any(session_user_id) as user_id
    from events
    where event_type = 'account_created' and session_user_id is not null
    group by session_id
),

profiles as (
    select
        session_user_id as user_id,
        min(created_at) as completed_at
    from events
    where event_type = 'profile_completed' and session_user_id is not null
    group by session_user_id
),

first_orders as (
    select
        user_id,
        min(created_at) as first_order_at
    from orders
    group by user_id
),

cohort as (
    select
        signups.session_id as session_id,
        accounts.user_id is not null as created_account,
        created_account
        and profiles.completed_at < signups.started_at + interval {{ cohort_days }} day as completed_profile,
        completed_profile
        and first_orders.first_order_at < signups.started_at + interval {{ cohort_days }} day as ordered
    from signups
    left join accounts on signups.session_id = accounts.session_id
    left join profiles on accounts.user_id = profiles.user_id
    left join first_orders on accounts.user_id = first_orders.user_id
    settings join_use_nulls = 1
),

steps as (
    select
        1 as step_number,
        'signup_started' as step_name,
        count(*) as entities
    from cohort
    union all
    select
        2 as step_number,
        'account_created' as step_name,
        countIf(created_account) as entities
    from cohort
    union all
    select
        3 as step_number,
        'profile_completed' as step_name,
        countIf(completed_profile) as entities
    from cohort
    union all
    select
        4 as step_number,
        'first_order' as step_name,
        countIf(ordered) as entities
    from cohort
),

measured as (
    select
        toUInt8(step_number) as step_number,
        step_name,
        toUInt64(entities) as entities,
        toUInt64(lagInFrame(entities, 1, entities) over (order by step_number)) as previous_entities
    from steps
),

rated as (
    select
        step_number,
        step_name,
        entities,
        previous_entities,
        toInt64(previous_entities) - toInt64(entities) as drop_off,
        if(previous_entities = 0, 0, drop_off / previous_entities) as drop_off_rate,
        {{ ratio('entities', 'previous_entities') }} as conversion_from_previous
    from measured
),

largest as (
    -- one step at most: the first of the steps with the highest rate, and only if someone dropped off
    select argMax(step_number, (drop_off_rate, -step_number)) as largest_step_number
    from rated
    where step_number > 1 and drop_off > 0
),

final as (
    select
        *,
        coalesce(step_number = (select largest_step_number from largest), false) as is_largest_drop_off
    from rated
)

select * from final
