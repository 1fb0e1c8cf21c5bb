{{ config(order_by='(node_name, run_date)') }}

-- How long each model and snapshot takes to build, per day, and how its latest run ended, against the SLA:
-- no single build longer than var sla_build_seconds, and no build error that day.
with

results as (
    select * from {{ ops_results_relation() }}
),

builds as (
    select
        toDate(invoked_at) as run_date,
        node_name,
        resource_type,
        status,
        execution_time,
        invoked_at
    from results
    where resource_type in ('model', 'snapshot', 'seed')
),

final as (
    select
        node_name,
        run_date,
        any(resource_type) as resource_type,
        count(*) as runs,
        round(avg(execution_time), 3) as avg_seconds,
        round(max(execution_time), 3) as max_seconds,
        argMax(status, invoked_at) as last_status,
        countIf(status = 'error') as errors,
        {{ var('sla_build_seconds') }} as sla_seconds,
        max_seconds > sla_seconds as breached_duration_sla,
        errors > 0 as breached_success_sla,
        not breached_duration_sla and not breached_success_sla as met_sla
    from builds
    group by node_name, run_date
)

select * from final
