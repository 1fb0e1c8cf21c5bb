{{ config(order_by='time_key') }}

-- The time of an order as Instacart gives it: day of week (0-6) and hour (0-23); 168 rows.
with

hours as (
    select toInt64(number) as time_key
    from numbers(168)
),

final as (
    select
        time_key,
        intDiv(time_key, 24) as order_dow,
        time_key % 24 as order_hour_of_day,
        -- Instacart does not document which day 0 is; by its volume it is read as Sunday
        ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][intDiv(time_key, 24) + 1]
            as day_name,
        intDiv(time_key, 24) in (0, 6) as is_weekend,
        multiIf(
            time_key % 24 < 6, 'night',
            time_key % 24 < 12, 'morning',
            time_key % 24 < 17, 'afternoon',
            'evening'
        ) as daypart
    from hours
)

select * from final
