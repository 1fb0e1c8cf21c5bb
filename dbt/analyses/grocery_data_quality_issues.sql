-- Can we trust the grocery data today? Every check that did not pass, the worst first.
select
    status,
    check_category,
    check_name,
    table_name,
    failed_rows,
    checked_rows,
    round(issue_rate, 5) as issue_rate
from {{ ref('rpt_grocery_data_quality') }}
where status != 'PASS'
order by status = 'FAIL' desc, issue_rate desc
