"""The evaluation committee: its rules, buyer representatives, the committed random draw, the seats' answers."""
