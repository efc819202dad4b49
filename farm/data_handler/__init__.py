"""Reading data files and request dicts into named, unpadded features (processors, data silo)."""
