"""Image recipes: one small module per image, composed by ci.main."""
