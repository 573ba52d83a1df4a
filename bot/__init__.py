"""breakeven's Slack app: `/breakeven` answers with a verdict, its numbers and a chart."""
