"""The `breakeven` command line: the top layer over the pure cost core (`costcore`) and the
stateful pieces beside the Slack app (`bot`: the database, spend sources, measurements).

It sits above both so that neither reaches up: costcore imports nothing of ours, bot imports
only costcore.
"""
