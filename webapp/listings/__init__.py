"""What happens to a listing: merging generated text, edits by people, review."""
