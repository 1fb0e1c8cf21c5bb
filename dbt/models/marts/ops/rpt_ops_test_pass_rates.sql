{{ config(order_by='(run_date, target_name)') }}

-- Data and unit test outcomes per day and target, from the dbt run artifacts in the ops database, against the
-- SLA: a pass rate of at least var sla_test_pass_rate (warnings count as passes: they are reported, not failed).
with

results as (
    select * from {{ ops_results_relation() }}
),

tests as (
    select
        toDate(invoked_at) as run_date,
        target_name,
        status
    from results
    where resource_type in ('test', 'unit_test')
),

final as (
    select
        run_date,
        target_name,
        count(*) as tests_run,
        countIf(status = 'pass') as passed,
        countIf(status = 'warn') as warned,
        countIf(status in ('fail', 'error')) as failed,
        countIf(status = 'pass') / count(*) as pass_rate,
        toFloat64({{ var('sla_test_pass_rate') }}) as sla_pass_rate,
        (passed + warned) / tests_run < sla_pass_rate as breached_sla,
        not breached_sla as met_sla
    from tests
    group by run_date, target_name
)

select * from final
