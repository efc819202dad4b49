"""Language models, prediction heads, the adaptive model that joins them, and optimization."""
