{{ config(order_by='(source_table, checked_at)') }}

-- Every `dbt source freshness` check of every raw table: its status and how old the newest load was, against
-- the SLA of var sla_source_age_hours (the load ran within that many hours; an error status breaches too).
with

results as (
    select * from {{ ops_results_relation() }}
),

final as (
    select
        replaceOne(unique_id, 'source.orchard.', '') as source_table,
        coalesce(snapshotted_at, invoked_at) as checked_at,
        target_name,
        status,
        max_loaded_at,
        round(dateDiff('second', max_loaded_at, coalesce(snapshotted_at, invoked_at)) / 3600, 2) as age_hours,
        toFloat64({{ var('sla_source_age_hours') }}) as sla_hours,
        status in ('error', 'runtime error') or coalesce(age_hours > sla_hours, true) as breached_sla,
        not breached_sla as met_sla
    from results
    where resource_type = 'source'
)

select * from final
