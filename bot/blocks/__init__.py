"""Block Kit builders: small pure functions from view data to Slack blocks, each tested."""
