{{ config(order_by='product_id') }}

-- 3NF products: the department comes through the aisle (int_grocery__aisles), so it is not repeated here.
with

products as (
    select * from {{ ref('stg_instacart__products') }}
),

aisles as (
    select * from {{ ref('int_grocery__aisles') }}
),

deduplicated as (
    select *
    from products
    order by loaded_at desc
    limit 1 by product_id
),

flagged as (
    select
        deduplicated.product_id as product_id,
        coalesce(deduplicated.product_name, 'unknown') as product_name,
        deduplicated.aisle_id as aisle_id,
        positionCaseInsensitive(coalesce(deduplicated.product_name, ''), 'organic') > 0 as is_organic,
        match(lower(coalesce(deduplicated.product_name, '')), 'gluten[ -]?free') as is_gluten_free,
        deduplicated.product_name is null as dq_is_missing_name,
        aisles.aisle_id is null as dq_has_unknown_aisle,
        aisles.aisle_id is not null and aisles.department_id != deduplicated.department_id
            as dq_has_department_conflict,
        deduplicated.loaded_at as loaded_at
    from deduplicated
    left join aisles on deduplicated.aisle_id = aisles.aisle_id
    settings join_use_nulls = 1
)

select * from flagged
