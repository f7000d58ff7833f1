"""What customers say in their own words: comments, and the identifiers masked out of them."""

__all__: list[str] = []
