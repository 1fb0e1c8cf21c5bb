{{ config(order_by='(product_id, week_start)') }}

-- Each product's inventory and price at the end of every week, read from the products snapshot (the version
-- valid at the week's end), and whether it changed since the week before.
with

versions as (
    select * from {{ ref('snp_shop__products') }}
),

bounds as (
    select
        assumeNotNull(toMonday({{ shop_date('min(dbt_valid_from)') }})) as first_week,
        assumeNotNull(
            toMonday({{ shop_date('greatest(max(dbt_valid_from), max(coalesce(dbt_valid_to, dbt_valid_from)))') }})
        ) as last_week
    from versions
),

weeks as (
    select
        arrayJoin(
            arrayMap(
                week_offset -> first_week + toIntervalWeek(week_offset),
                range(toUInt64(dateDiff('week', first_week, last_week) + 1))
            )
        ) as week_start,
        -- a week ends at the shop's Monday midnight, not UTC's
        toDateTime64(week_start + 7, 6, '{{ var("shop_timezone") }}') as week_end
    from bounds
),

product_weeks as (
    select
        assumeNotNull(versions.product_id) as product_id,
        weeks.week_start as week_start,
        versions.product_name as product_name,
        versions.inventory as inventory,
        versions.price as price,
        versions.dbt_valid_from as version_valid_from
    from versions
    cross join weeks
    where
        versions.dbt_valid_from < weeks.week_end
        and (versions.dbt_valid_to is null or versions.dbt_valid_to >= weeks.week_end)
),

final as (
    select
        product_id,
        week_start,
        product_name,
        inventory,
        price,
        version_valid_from,
        lagInFrame(toNullable(inventory)) over weekly as previous_inventory,
        lagInFrame(toNullable(price)) over weekly as previous_price,
        previous_inventory is not null
        and (inventory != previous_inventory or price != previous_price) as changed_since_previous_week
    from product_weeks
    window weekly as (partition by product_id order by week_start rows between 1 preceding and current row)
)

select * from final
