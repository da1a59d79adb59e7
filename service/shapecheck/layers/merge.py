"""merge layers."""
