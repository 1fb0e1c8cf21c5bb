-- Which products carry the business? Products per ABC class with their share of volume, and the top 20 products.
select
    abc_class,
    count(*) as products,
    sum(purchases) as purchases,
    round(sum(volume_share), 3) as volume_share,
    round(avg(reorder_rate), 3) as avg_reorder_rate,
    -- sorted by rank inside the aggregate: groupArray does not keep a subquery's order
    arraySlice(arrayMap(ranked -> ranked.2, arraySort(groupArray((rank_overall, product_name)))), 1, 20)
        as top_products
from {{ ref('rpt_grocery_product_performance') }}
group by abc_class
order by abc_class
