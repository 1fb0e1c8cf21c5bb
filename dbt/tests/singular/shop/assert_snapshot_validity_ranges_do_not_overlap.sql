-- SCD2 versions of a key follow each other: each one ends where the next begins, only the last is open, and no
-- version ends before it starts. Returns the offending versions of both shop snapshots.
with

versions as (
    select
        'orders' as snapshot_name,
        order_id as entity_id,
        dbt_valid_from,
        dbt_valid_to
    from {{ ref('snp_shop__orders') }}
    union all
    select
        'products' as snapshot_name,
        product_id as entity_id,
        dbt_valid_from,
        dbt_valid_to
    from {{ ref('snp_shop__products') }}
),

sequenced as (
    select
        snapshot_name,
        entity_id,
        dbt_valid_from,
        dbt_valid_to,
        leadInFrame(toNullable(dbt_valid_from)) over (
            partition by snapshot_name, entity_id
            order by dbt_valid_from
            rows between current row and 1 following
        ) as next_valid_from
    from versions
)

select *
from sequenced
where
    (dbt_valid_to is null and next_valid_from is not null)
    or (dbt_valid_to is not null and next_valid_from is null)
    or dbt_valid_to > next_valid_from
    or dbt_valid_to <= dbt_valid_from
