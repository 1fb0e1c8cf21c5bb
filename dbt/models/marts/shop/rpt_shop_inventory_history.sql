{{ config(order_by='product_id') }}

-- Per product, from the snapshot: how often inventory and price changed, how much inventory fluctuated,
-- and whether the product went out of stock and came back.
with

versions as (
    select * from {{ ref('snp_shop__products') }}
),

ordered as (
    select
        product_id,
        product_name,
        inventory,
        price,
        dbt_valid_from,
        dbt_valid_to,
        lagInFrame(toNullable(inventory)) over versions_in_time as previous_inventory,
        lagInFrame(toNullable(price)) over versions_in_time as previous_price
    from versions
    window versions_in_time as (
        partition by product_id order by dbt_valid_from rows between 1 preceding and current row
    )
),

final as (
    select
        product_id,
        argMax(product_name, dbt_valid_from) as product_name,
        count(*) as versions,
        countIf(previous_inventory is not null and inventory != previous_inventory) as inventory_changes,
        countIf(previous_price is not null and price != previous_price) as price_changes,
        min(inventory) as min_inventory,
        max(inventory) as max_inventory,
        round(stddevPop(inventory), 2) as inventory_stddev,
        sumIf(abs(inventory - previous_inventory), previous_inventory is not null) as total_inventory_movement,
        countIf(inventory = 0 and coalesce(previous_inventory, 1) > 0) as stockouts,
        countIf(inventory > 0 and previous_inventory = 0) as restocks,
        stockouts > 0 and restocks > 0 as went_out_of_stock_and_came_back,
        argMax(inventory, dbt_valid_from) as current_inventory,
        argMax(price, dbt_valid_from) as current_price,
        min(dbt_valid_from) as first_seen_at,
        max(dbt_valid_from) as last_changed_at
    from ordered
    group by product_id
)

select * from final
