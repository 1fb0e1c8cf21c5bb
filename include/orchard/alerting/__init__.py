"""On-call alerting for Orchard's DAGs: notifiers, channels (Slack, email, webhook) and the local alert log."""
