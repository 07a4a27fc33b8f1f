"""Commands that live in their own modules; cli.py registers each with one `main.add_command` line."""
