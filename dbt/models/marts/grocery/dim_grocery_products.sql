{{ config(order_by='product_id') }}

-- Products with their department > aisle > product hierarchy, dietary flags and a category.
with

products as (
    select * from {{ ref('int_grocery__products') }}
),

aisles as (
    select * from {{ ref('int_grocery__aisles') }}
),

departments as (
    select * from {{ ref('int_grocery__departments') }}
),

joined as (
    select
        products.product_id as product_id,
        products.product_name as product_name,
        products.aisle_id as aisle_id,
        coalesce(aisles.aisle_name, 'unknown') as aisle_name,
        aisles.department_id as department_id,
        coalesce(departments.department_name, 'unknown') as department_name,
        products.is_organic as is_organic,
        products.is_gluten_free as is_gluten_free
    from products
    left join aisles on products.aisle_id = aisles.aisle_id
    left join departments on aisles.department_id = departments.department_id
    settings join_use_nulls = 1
),

categorised as (
    select
        *,
        multiIf(
            department_name in ('produce', 'dairy eggs', 'meat seafood', 'deli', 'bakery'), 'fresh',
            department_name = 'frozen', 'frozen',
            department_name in ('beverages', 'alcohol'), 'drinks',
            department_name in (
                'pantry', 'canned goods', 'dry goods pasta', 'breakfast', 'snacks', 'international', 'bulk'
            ), 'pantry',
            department_name in ('household', 'personal care', 'babies', 'pets'), 'non_food',
            'other'
        ) as category,
        concat(department_name, ' > ', aisle_name, ' > ', product_name) as hierarchy_path
    from joined
)

select * from categorised
