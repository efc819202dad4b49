"""ASCII pictures (``images``) and banners (``text``) under FARM's names."""
