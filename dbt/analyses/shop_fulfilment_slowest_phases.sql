-- What slows fulfilment down? Hours to ship and in transit by carrier and promo, and the ten slowest products.
select *
from (
    select *
    from {{ ref('rpt_shop_fulfilment_phases') }}
    where dimension in ('shipping_service', 'promo')
    union all
    select *
    from (
        select *
        from {{ ref('rpt_shop_fulfilment_phases') }}
        where dimension = 'product'
        order by avg_hours_to_deliver desc
        limit 10
    )
)
order by dimension asc, avg_hours_to_deliver desc
