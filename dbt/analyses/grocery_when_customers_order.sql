-- When do customers order, and do they buy bigger baskets at some times? Orders and basket size by day and daypart.
select
    times.day_name as day_name,
    times.daypart as daypart,
    count(*) as orders,
    round(avg(orders.basket_size), 2) as avg_basket_size
from {{ ref('fct_grocery_orders') }} as orders
inner join {{ ref('dim_grocery_order_times') }} as times on orders.time_key = times.time_key
where orders.basket_size > 0
group by times.order_dow, times.day_name, times.daypart
order by times.order_dow, min(times.order_hour_of_day)
