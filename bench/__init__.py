"""The clock: paired timing, statistics, roofline, records, leaderboard."""
