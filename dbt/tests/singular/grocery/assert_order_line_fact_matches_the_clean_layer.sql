-- Every valid line of the clean layer is in the fact, and nothing else is: a fact that stops following its
-- source (a window that never matches, a line inserted twice) fails here on the night it happens.
with

clean as (
    select
        lines.order_id as order_id,
        lines.product_id as product_id
    from {{ ref('int_grocery__order_lines') }} as lines
    where
        not lines.dq_invalid_reordered
        and not lines.dq_has_unknown_order
        and not lines.dq_has_unknown_product
),

fact as (
    select
        order_id,
        product_id
    from {{ ref('fct_grocery_order_lines') }}
),

missing as (
    select
        order_id,
        product_id,
        'missing from the fact' as problem
    from clean
    where
        (order_id, product_id) not in (
            select
                order_id,
                product_id
            from fact
        )
),

extra as (
    select
        order_id,
        product_id,
        'not in the clean layer' as problem
    from fact
    where
        (order_id, product_id) not in (
            select
                order_id,
                product_id
            from clean
        )
),

repeated as (
    select
        order_id,
        product_id,
        'repeated in the fact' as problem
    from fact
    group by order_id, product_id
    having count(*) > 1
)

select * from missing
union all
select * from extra
union all
select * from repeated
