"""The front door: what the product is, for strangers; the favicon every browser asks for."""
