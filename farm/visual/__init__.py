"""FARM's ``farm.visual``: ASCII pictures FARM printed in its logs (names kept for code that
imports them; the pictures are this project's own)."""
