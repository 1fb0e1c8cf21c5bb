-- Which products' stock fluctuates most? The top 10 by standard deviation of inventory.
select
    product_name,
    versions,
    inventory_changes,
    min_inventory,
    max_inventory,
    inventory_stddev,
    total_inventory_movement
from {{ ref('rpt_shop_inventory_history') }}
order by inventory_stddev desc
limit 10
