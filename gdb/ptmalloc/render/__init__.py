"""Layer 6, render: what the user reads.

output (styled text, the JSON writer) · views (the shapes of the --json contract) · the heap
map's files: map_columns (the walk's columns, per band), map_layout (where each box goes, and its
colour), map_svg and map_html (the two formats; map_page.js is the page's script)."""
