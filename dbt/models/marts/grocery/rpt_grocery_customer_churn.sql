{{ config(order_by='user_id') }}

-- RFM scores (1-5), lifecycle segment and recommended action per customer. R is real recency (days from the
-- last prior order to the end of the customer's history), F the number of prior orders, M the items bought.
with

customers as (
    select * from {{ ref('dim_grocery_customers') }}
),

scored as (
    select
        user_id,
        recency_days,
        prior_orders as frequency_orders,
        prior_items as monetary_items,
        churn_risk,
        toInt8({{ score_by_thresholds('recency_days', [3, 7, 14, 21], higher_is_better=false) }}) as recency_score,
        toInt8({{ score_by_thresholds('prior_orders', [4, 8, 15, 30]) }}) as frequency_score,
        toInt8({{ score_by_thresholds('prior_items', [30, 75, 150, 300]) }}) as monetary_score
    from customers
),

segmented as (
    select
        *,
        concat(toString(recency_score), toString(frequency_score), toString(monetary_score)) as rfm_cell,
        multiIf(
            recency_score >= 4 and frequency_score >= 4, 'champions',
            recency_score >= 3 and frequency_score >= 3, 'loyal',
            recency_score >= 4 and frequency_score <= 2, 'promising',
            recency_score <= 2 and frequency_score >= 3, 'at_risk',
            recency_score <= 2 and frequency_score <= 2, 'hibernating',
            'needs_attention'
        ) as lifecycle_segment
    from scored
),

final as (
    select
        *,
        transform(
            lifecycle_segment,
            ['champions', 'loyal', 'promising', 'at_risk', 'hibernating', 'needs_attention'],
            [
                'reward and ask for referrals',
                'upsell higher-value baskets',
                'onboard with personalised recommendations',
                'win back with a time-limited offer',
                'reactivate with a strong discount or let go',
                'nudge with reminders of favourite products'
            ],
            'review'
        ) as recommended_action
    from segmented
)

select * from final
