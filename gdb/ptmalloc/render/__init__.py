"""Layer 6, render: what the user reads.

output (styled text, the JSON writer) · views (the shapes of the --json contract)."""
