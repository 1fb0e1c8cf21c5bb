-- What do baskets consist of? Share of purchases and reorder rate per department and category.
select
    products.category as category,
    products.department_name as department_name,
    count(*) as purchases,
    round(count(*) / sum(count(*)) over (), 4) as share_of_purchases,
    round(avg(lines.reordered), 3) as share_reordered
from {{ ref('fct_grocery_order_lines') }} as lines
inner join {{ ref('dim_grocery_products') }} as products on lines.product_id = products.product_id
group by products.category, products.department_name
order by purchases desc
