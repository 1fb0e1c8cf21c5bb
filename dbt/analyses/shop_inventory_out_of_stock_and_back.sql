-- Which products ran out of stock and came back, and how often?
select
    product_name,
    stockouts,
    restocks,
    current_inventory
from {{ ref('rpt_shop_inventory_history') }}
where went_out_of_stock_and_came_back
order by stockouts desc, product_name asc
