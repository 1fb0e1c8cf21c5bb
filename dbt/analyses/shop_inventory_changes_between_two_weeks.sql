-- Which products' stock or price changed between the last two weeks?
select
    product_id,
    product_name,
    week_start,
    previous_inventory,
    inventory,
    previous_price,
    price
from {{ ref('rpt_shop_inventory_weekly') }}
where
    week_start = (select max(week_start) from {{ ref('rpt_shop_inventory_weekly') }})
    and changed_since_previous_week
order by abs(inventory - previous_inventory) desc
