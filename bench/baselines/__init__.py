"""Reference servers the benchmark compares the chat server against."""
