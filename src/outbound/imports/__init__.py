"""Contact imports: one service for web upload, REST, CLI and the watched folder."""
