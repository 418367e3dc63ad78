"""One module per command that needs more than a line in cli.py."""
