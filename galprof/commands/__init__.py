"""Click commands that live in their own modules; cli.py registers each with one `add_command` line."""
