-- Which products carry the business? Products per ABC class with their share of volume, and the top 20 products.
select
    abc_class,
    count(*) as products,
    sum(purchases) as purchases,
    round(sum(volume_share), 3) as volume_share,
    round(avg(reorder_rate), 3) as avg_reorder_rate,
    arraySlice(groupArray(product_name), 1, 20) as top_products
from (
    select *
    from {{ ref('rpt_grocery_product_performance') }}
    order by rank_overall
)
group by abc_class
order by abc_class
