{{ config(order_by='department_id') }}

with

departments as (
    select * from {{ ref('stg_instacart__departments') }}
),

deduplicated as (
    select
        department_id,
        department_name,
        loaded_at
    from departments
    order by loaded_at desc
    limit 1 by department_id
),

flagged as (
    select
        department_id,
        coalesce(department_name, 'unknown') as department_name,
        department_name is null as dq_is_missing_name,
        loaded_at
    from deduplicated
)

select * from flagged
