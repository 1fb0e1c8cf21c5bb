-- Segments partition the customers: their revenue shares add up to 1 (a row that is not a segment breaks it).
select sum(revenue_share) as total_share
from {{ ref('rpt_shop_customer_segments') }}
having abs(total_share - 1) > 1e-9 and sum(revenue) > 0
