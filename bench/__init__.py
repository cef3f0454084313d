"""The clock: paired timing, statistics, roofline, records, leaderboard, and the CLI."""
