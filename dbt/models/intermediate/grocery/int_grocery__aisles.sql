{{ config(order_by='aisle_id') }}

-- An aisle belongs to one department: it is the department of (most of) its products, which makes the
-- department key of a product transitive (product -> aisle -> department) and lets products drop it.
with

aisles as (
    select * from {{ ref('stg_instacart__aisles') }}
),

products as (
    select * from {{ ref('stg_instacart__products') }}
),

deduplicated as (
    select
        aisle_id,
        aisle_name,
        loaded_at
    from aisles
    order by loaded_at desc
    limit 1 by aisle_id
),

aisle_department_products as (
    select
        aisle_id,
        department_id,
        count(*) as products
    from products
    group by aisle_id, department_id
),

aisle_departments as (
    select
        aisle_id,
        argMax(department_id, products) as dominant_department_id,
        count(*) as department_count
    from aisle_department_products
    group by aisle_id
),

flagged as (
    select
        deduplicated.aisle_id as aisle_id,
        coalesce(deduplicated.aisle_name, 'unknown') as aisle_name,
        aisle_departments.dominant_department_id as department_id,
        deduplicated.aisle_name is null as dq_is_missing_name,
        coalesce(aisle_departments.department_count, 0) > 1 as dq_has_several_departments,
        deduplicated.loaded_at as loaded_at
    from deduplicated
    left join aisle_departments on deduplicated.aisle_id = aisle_departments.aisle_id
)

select * from flagged
