{{ config(order_by='(product_a_id, product_b_id)') }}

-- Product pairs bought together. Pairs are counted only among frequent products (in at least
-- basket_min_product_support of all orders), one basket array per order, never by a self-join of the lines;
-- a pair is kept when it is seen in at least basket_min_pair_orders orders. Product A has the smaller id.
with

lines as (
    select
        order_id,
        product_id
    from {{ ref('fct_grocery_order_lines') }}
),

products as (
    select * from {{ ref('dim_grocery_products') }}
),

totals as (
    select uniqExact(order_id) as total_orders
    from lines
),

product_orders as (
    select
        product_id,
        count(*) as orders
    from lines
    group by product_id
),

frequent_products as (
    select product_id
    from product_orders
    where orders >= (select total_orders from totals) * {{ var('basket_min_product_support') }}
),

baskets as (
    select
        order_id,
        arraySort(groupArray(product_id)) as basket
    from lines
    where product_id in (select product_id from frequent_products)
    group by order_id
    having length(basket) >= 2
),

pairs as (
    select
        pair.1 as product_a_id,
        pair.2 as product_b_id,
        count(*) as pair_orders
    from baskets
    array join
        arrayFlatten(
            arrayMap(
                (product, position) -> arrayMap(other -> (product, other), arraySlice(basket, position + 1)),
                basket,
                arrayEnumerate(basket)
            )
        ) as pair
    group by product_a_id, product_b_id
    having pair_orders >= {{ var('basket_min_pair_orders') }}
),

measured as (
    select
        pairs.product_a_id as product_a_id,
        pairs.product_b_id as product_b_id,
        pairs.pair_orders as pair_orders,
        a.orders as product_a_orders,
        b.orders as product_b_orders,
        pairs.pair_orders / totals.total_orders as support,
        pairs.pair_orders / a.orders as confidence_a_to_b,
        pairs.pair_orders / b.orders as confidence_b_to_a,
        pairs.pair_orders * totals.total_orders / (a.orders * b.orders) as lift
    from pairs
    cross join totals
    inner join product_orders as a on pairs.product_a_id = a.product_id
    inner join product_orders as b on pairs.product_b_id = b.product_id
),

final as (
    select
        measured.*,
        product_a.product_name as product_a_name,
        product_b.product_name as product_b_name
    from measured
    left join products as product_a on measured.product_a_id = product_a.product_id
    left join products as product_b on measured.product_b_id = product_b.product_id
)

select * from final
