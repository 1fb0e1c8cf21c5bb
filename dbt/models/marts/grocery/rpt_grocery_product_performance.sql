{{ config(order_by='product_id') }}

-- Per product: volume, reorder rate, customer penetration, ranks, ABC class and lifecycle stage.
-- Reorder rate = reordered purchases / purchases in a customer's non-first orders (a first order cannot
-- contain reorders). ABC: sorted by volume, a product is A while the share of volume before it is under
-- abc_a_share, B under abc_b_share, C after.
with

lines as (
    select * from {{ ref('fct_grocery_order_lines') }}
),

products as (
    select * from {{ ref('dim_grocery_products') }}
),

totals as (
    select
        count(*) as total_lines,
        uniqExact(user_id) as total_customers
    from lines
),

per_product as (
    select
        product_id,
        count(*) as purchases,
        sum(reordered) as reorders,
        countIf(order_number > 1) as reorderable_purchases,
        uniqExact(user_id) as customers,
        avg(add_to_cart_order) as avg_cart_position
    from lines
    group by product_id
),

measured as (
    select
        per_product.product_id as product_id,
        products.product_name as product_name,
        products.aisle_name as aisle_name,
        products.department_id as department_id,
        products.department_name as department_name,
        per_product.purchases as purchases,
        per_product.reorders as reorders,
        {{ ratio('per_product.reorders', 'per_product.reorderable_purchases') }} as reorder_rate,
        per_product.customers as customers,
        per_product.customers / totals.total_customers as customer_penetration,
        per_product.avg_cart_position as avg_cart_position,
        per_product.purchases / totals.total_lines as volume_share
    from per_product
    cross join totals
    left join products on per_product.product_id = products.product_id
),

ranked as (
    select
        *,
        rank() over (partition by department_id order by purchases desc) as rank_in_department,
        rank() over (order by purchases desc) as rank_overall,
        -- cumulated in whole lines, so the share before a product is exact at the class boundaries
        sum(purchases) over (
            order by purchases desc, product_id asc rows between unbounded preceding and current row
        ) as cumulative_purchases
    from measured
),

classified as (
    select
        ranked.product_id as product_id,
        ranked.product_name as product_name,
        ranked.aisle_name as aisle_name,
        ranked.department_id as department_id,
        ranked.department_name as department_name,
        ranked.purchases as purchases,
        ranked.reorders as reorders,
        ranked.reorder_rate as reorder_rate,
        ranked.customers as customers,
        ranked.customer_penetration as customer_penetration,
        ranked.avg_cart_position as avg_cart_position,
        ranked.volume_share as volume_share,
        ranked.rank_in_department as rank_in_department,
        ranked.rank_overall as rank_overall,
        ranked.cumulative_purchases / totals.total_lines as cumulative_share,
        multiIf(
            (ranked.cumulative_purchases - ranked.purchases) / totals.total_lines < {{ var('abc_a_share') }}, 'A',
            (ranked.cumulative_purchases - ranked.purchases) / totals.total_lines < {{ var('abc_b_share') }}, 'B',
            'C'
        ) as abc_class
    from ranked
    cross join totals
),

final as (
    select
        *,
        -- no dates in this data: the stage is read from adoption (customers) and repeat buying
        multiIf(
            customers < 5, 'introduction',
            abc_class = 'A' and reorder_rate >= 0.5, 'maturity',
            reorder_rate >= 0.5, 'growth',
            'decline'
        ) as lifecycle_stage
    from classified
)

select * from final
