-- Which grocery customers are we losing, and what should we do? Customers per lifecycle segment with their
-- recency, frequency and the recommended action, worst first.
select
    lifecycle_segment,
    recommended_action,
    count(*) as customers,
    round(avg(recency_days), 1) as avg_recency_days,
    round(avg(frequency_orders), 1) as avg_orders,
    countIf(churn_risk = 'high') as high_churn_risk_customers
from {{ ref('rpt_grocery_customer_churn') }}
group by lifecycle_segment, recommended_action
order by high_churn_risk_customers desc
