-- What sells best in each department, and how loyal are its buyers?
select
    department_name,
    product_name,
    purchases,
    round(reorder_rate, 3) as reorder_rate,
    round(customer_penetration, 4) as customer_penetration,
    lifecycle_stage
from {{ ref('rpt_grocery_product_performance') }}
where rank_in_department = 1
order by purchases desc
